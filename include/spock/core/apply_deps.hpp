// Dependencies between remote transactions, for parallel apply (docs/architecture.md,
// "Parallel apply").
//
// The leader of a subscription reads the stream in the provider's commit order and numbers the
// transactions 1, 2, 3, ... (ApplySeq). Before it hands a transaction to an apply process it
// needs one answer: which earlier transaction must have committed before this one may start to
// apply. Two transactions depend on each other when they touch the same key: a row (relation
// plus replica identity), a value of any unique key, or a foreign-key reference to a parent
// row. Anything that cannot be keyed (TRUNCATE, DDL, sequences, messages, a table without a
// key, a transaction with more keys than the set holds) is a barrier: it waits for every
// earlier transaction, and every later one waits for it.
//
// Since commits happen in provider order, "wait until transaction N committed" also means
// every transaction before N committed, so one number per transaction (the latest earlier
// transaction it shares a key with) is the whole answer.
//
// A key is a "space" (the glue uses the local oid of the relation or unique index the values
// belong to, so a foreign key of a child and the primary key of its parent meet in the parent's
// index) and a 64-bit hash of the values. A space key stands for every value of a space: the
// glue uses it where a value is not known (an old value of a unique column the stream does not
// carry). It depends on every earlier key of the space, and every later key of the space
// depends on it.
//
// Memory is bounded and fixed at construction: the tracker keeps, per bucket of a key table
// and of a space table, the latest transaction that used a key falling into the bucket. Keys
// that share a bucket (by hash collision, or because there are more live keys than buckets:
// the table "wraps around") share their dependency. That can only add dependencies, never lose
// one, so a full table costs parallelism and not correctness. A transaction's key set is
// bounded too: past its limit it becomes a barrier.
//
// Pure C++, no allocation after construction except in TxnKeys up to its limit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "spock/core/protocol.hpp"

namespace spock::core {

// Position of a remote transaction in the stream since the leader started: 1, 2, ... (0: none).
// 64 bits: at a million transactions a second it lasts half a million years, so it never wraps.
using ApplySeq = std::uint64_t;

// The space of a key: the local oid of a relation or unique index.
using KeySpace = std::uint32_t;

// 64-bit hash of a space and the values of its key columns (kind and bytes of each, so a NULL,
// an empty string and a text "" differ). Never 0.
std::uint64_t apply_key_hash(KeySpace space, std::span<const ColumnValue* const> values) noexcept;

struct ApplyKey {
    KeySpace space = 0;
    std::uint64_t hash = 0;  // 0: the whole space
};

// The keys of one remote transaction, collected while the leader reads it.
class TxnKeys {
  public:
    explicit TxnKeys(std::size_t max_keys = 4096) : max_keys_(max_keys) {}

    void add(KeySpace space, std::uint64_t hash);  // hash 0: the whole space
    void add_space(KeySpace space) { add(space, 0); }
    // The transaction must run alone (un-keyable change). Drops the keys: they are not needed.
    void set_barrier() noexcept;

    bool barrier() const noexcept { return barrier_; }
    // True when the barrier was set because the set ran over max_keys.
    bool overflowed() const noexcept { return overflowed_; }
    std::span<const ApplyKey> keys() const noexcept { return keys_; }
    void clear() noexcept;

  private:
    std::size_t max_keys_;
    std::vector<ApplyKey> keys_;
    bool barrier_ = false;
    bool overflowed_ = false;
};

struct Admission {
    ApplySeq seq = 0;       // the number given to the transaction
    ApplySeq wait_for = 0;  // must be committed before it starts to apply; 0: none
};

class DependencyTracker {
  public:
    // key_buckets and space_buckets are rounded up to powers of two (at least 1).
    explicit DependencyTracker(std::size_t key_buckets = 1u << 16,
                               std::size_t space_buckets = 1u << 10);

    // Numbers the next transaction and says what it waits for. Records its keys.
    Admission admit(const TxnKeys& keys) noexcept;

    // Transaction seq committed. Commits come in order; a smaller or repeated seq is ignored.
    void committed(ApplySeq seq) noexcept;

    ApplySeq last_admitted() const noexcept { return next_ - 1; }
    ApplySeq last_committed() const noexcept { return committed_; }

    // Starts over (the leader restarted its apply processes): no transaction in flight.
    void reset() noexcept;

    // Bytes held; constant for the life of the tracker.
    std::size_t memory_bytes() const noexcept;

  private:
    std::size_t key_bucket(KeySpace space, std::uint64_t hash) const noexcept;
    std::size_t space_bucket(KeySpace space) const noexcept;

    std::vector<ApplySeq> key_last_;    // latest transaction with a value key in the bucket
    std::vector<ApplySeq> space_last_;  // latest transaction with any key in the space bucket
    std::vector<ApplySeq> space_all_;   // latest transaction with a whole-space key there
    ApplySeq next_ = 1;
    ApplySeq barrier_ = 0;  // latest barrier admitted
    ApplySeq committed_ = 0;
};

}  // namespace spock::core
