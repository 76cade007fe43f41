// The record of recently deleted keys (docs/conflicts.md, "Update versus delete"), and the
// decisions that use it.
//
// Per deleted row the record keeps (database, table, 64-bit hash of the key) -> who deleted
// it and when: the local transaction id that did the delete (to see whether it committed),
// the commit time of the delete (the remote commit time for a change applied from another
// node; unknown, 0, for a local delete until the glue reads the xid's commit timestamp) and
// the node it came from (0 for a local session). One entry per key: the newest delete wins.
//
// DeletedKeyTable is a fixed-size, pointer-free structure laid out in memory the caller
// provides (PostgreSQL shared memory, under an LWLock the caller holds): an open-addressing
// hash table of entries with at least twice as many slots as entries, and a ring of record
// events in the order they were made. The ring bounds the table: when it is full the oldest
// event is dropped, and so is its entry unless the key was recorded again since. So at most
// `capacity` entries are live, and the least recently recorded key is evicted first.
// Retention is by age of the record: an entry recorded more than `retention_us` before `now`
// is treated as absent and purged as the ring moves on.
//
// Pure C++: nothing allocates, throws or calls back, so the glue may call it under a lock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "spock/core/conflict_policy.hpp"
#include "spock/core/conflict_types.hpp"
#include "spock/core/lsn.hpp"

namespace spock::core {

// 64-bit hash of a key: database oid, table oid and the canonical bytes of the key columns.
// Never 0 (0 marks an empty slot).
std::uint64_t deleted_key_hash(std::uint32_t db, std::uint32_t rel,
                               std::span<const std::byte> key_bytes) noexcept;

struct DeletedKeyId {
    std::uint64_t hash;  // deleted_key_hash(db, rel, key)
    std::uint32_t db;
    std::uint32_t rel;
};

struct DeletedKey {
    std::uint32_t xid = 0;         // local transaction that deleted the row
    std::uint32_t node = 0;        // node the delete came from; 0: a local session
    TimestampUs commit_time;       // 0: not known yet (local delete, see the header comment)
    std::int64_t recorded_at = 0;  // local clock when recorded (retention)
};

class DeletedKeyTable {
  public:
    static constexpr std::uint32_t kRelBuckets = 1024;

    // Bytes needed for a table of `capacity` entries (capacity >= 1).
    static std::size_t size_for(std::uint32_t capacity) noexcept;
    // Lays out an empty table in `mem` (size_for(capacity) bytes, 8-byte aligned).
    static DeletedKeyTable* create(void* mem, std::uint32_t capacity) noexcept;

    // False when no entry of the table (db, rel) is live: the caller can skip building the
    // key. True may be a false positive (another table in the same bucket, or expired entries).
    bool may_have(std::uint32_t db, std::uint32_t rel) const noexcept;

    // The entry of the key, when one is recorded and not older than the retention.
    bool find(const DeletedKeyId& id, std::int64_t now, std::int64_t retention_us,
              DeletedKey* out) const noexcept;

    // Records a delete. The newest delete wins: an entry with a known commit time later than
    // `d`'s (also known) is kept. A delete of unknown commit time (local, not yet resolved)
    // replaces the entry: it happened here, after whatever was recorded.
    void record(const DeletedKeyId& id, const DeletedKey& d, std::int64_t now,
                std::int64_t retention_us) noexcept;

    // The glue learned the commit time of `xid`'s delete of the key: remembered, if the entry
    // is still that one.
    void settle(const DeletedKeyId& id, std::uint32_t xid, TimestampUs commit_time) noexcept;

    // `xid` aborted: its entry for the key (if still that one) is removed.
    void forget(const DeletedKeyId& id, std::uint32_t xid) noexcept;

    // Drops entries recorded before now - retention_us (oldest first, as the ring holds them).
    void purge(std::int64_t now, std::int64_t retention_us) noexcept;

    std::uint32_t size() const noexcept { return count_; }
    std::uint32_t capacity() const noexcept { return capacity_; }

    // Live entries for saving: calls fn(id, entry) for each, oldest record first.
    template <typename Fn>
    void for_each(Fn&& fn) const noexcept {
        for (std::uint64_t s = head_; s != tail_; s++) {
            const RingItem& r = ring()[s % capacity_];
            std::uint32_t i;
            if (lookup(r.id, &i) && slots()[i].seq == s) {
                fn(slots()[i].id, slots()[i].key);
            }
        }
    }

  private:
    struct Slot {
        DeletedKeyId id;  // id.hash == 0: empty
        DeletedKey key;
        std::uint64_t seq;  // ring position of its latest record
    };
    struct RingItem {
        DeletedKeyId id;
        std::int64_t recorded_at;
    };

    Slot* slots() noexcept { return reinterpret_cast<Slot*>(this + 1); }
    const Slot* slots() const noexcept { return reinterpret_cast<const Slot*>(this + 1); }
    RingItem* ring() noexcept { return reinterpret_cast<RingItem*>(slots() + nslots_); }
    const RingItem* ring() const noexcept {
        return reinterpret_cast<const RingItem*>(slots() + nslots_);
    }
    static std::uint32_t rel_bucket(std::uint32_t db, std::uint32_t rel) noexcept;
    bool lookup(const DeletedKeyId& id, std::uint32_t* index) const noexcept;
    void remove_at(std::uint32_t index) noexcept;
    void pop_oldest() noexcept;

    std::uint32_t capacity_;
    std::uint32_t nslots_;  // a power of two >= 2 * capacity_
    std::uint32_t count_;
    std::uint64_t head_;  // ring: events head_ .. tail_-1 are held
    std::uint64_t tail_;
    std::uint32_t rel_counts_[kRelBuckets];
};

// ----- Decisions ---------------------------------------------------------------------------

// A change (or a delete) as far as ordering goes: its commit time and the node it came from.
struct ChangeStamp {
    TimestampUs commit_time;
    std::uint32_t node = 0;
};

enum class DeleteOrder {
    DeleteLater,    // the delete was committed after the change
    DeleteEarlier,  // before it (or it is the same node's and equal in time)
    NeedTiebreak,   // equal commit times from different nodes: resolve_tiebreak() decides
};

DeleteOrder order_delete(ChangeStamp del, ChangeStamp change) noexcept;

// Turns a tiebreak into an order: when the deleting side's tiebreaker wins the delete counts
// as the later change (it wins under last_update_wins, as the local row would).
DeleteOrder order_from_tiebreak(std::int64_t delete_tiebreaker,
                                std::int64_t change_tiebreaker) noexcept;

// What happens to a remote change that meets a missing row.
enum class MissingRowAction {
    Insert,     // apply the remote row as an INSERT
    Skip,       // drop the change (resolution skip)
    KeepLocal,  // drop it: the local state (no row) wins (resolution keep_local)
    Error,      // spock.conflict_resolution = error
};

struct MissingRowDecision {
    ConflictType type;
    MissingRowAction action;
};

// A remote UPDATE found no row. `order` is that of the recorded delete against the update
// (ignored without one; never NeedTiebreak). full_row: the update carries every column
// (no unchanged-TOAST placeholder), so it can be inserted.
MissingRowDecision decide_update_missing(ConflictPolicy policy, bool have_delete, DeleteOrder order,
                                         bool full_row) noexcept;

// A remote INSERT found no row. conflict is false when the insert is simply applied;
// otherwise type is insert_deleted.
struct InsertDecision {
    bool conflict;
    MissingRowAction action;
};
InsertDecision decide_insert_missing(ConflictPolicy policy, bool have_delete,
                                     DeleteOrder order) noexcept;

// A remote DELETE found its row, last written by another origin: delete_exists when that
// write was committed after the delete, else delete_origin_differs. Who wins is
// resolve_conflict()'s decision, as for the other types.
ConflictType classify_delete_found(const LocalRowState& local,
                                   TimestampUs delete_commit_time) noexcept;

}  // namespace spock::core
