// Parallel apply: the leader's pending hand-over (docs/architecture.md, "Parallel apply").
//
// Handing a transaction to an apply process costs a message, a wake-up of the process and a
// wait of the leader until the process holds the transaction's lock. For small transactions
// that cost is of the order of applying them, so the leader does not hand out every
// transaction as soon as it is read: while no process is idle, or while the transaction would
// only wait for one still being applied, it joins a pending batch of consecutive transactions.
//
// The batch goes out striped: over the S processes idle at that moment, transaction i of the
// batch to stripe i % S, one message per process. Consecutive transactions are mostly
// independent, and their commits come in provider order, so a process that got a run of
// consecutive ones could overlap only one of them with the next process's run: striping makes
// consecutive transactions apply at the same time in different processes, while each message
// still carries several transactions (the hand-over stays shared). A batch of more
// transactions than idle processes waits until every process is idle, so it is spread over all
// of them. Each process applies and commits each transaction of its stripe on its own (its own
// local transaction under the origin, exception replay, the commit-order wait).
//
// Pure C++, no allocation.
#pragma once

#include <cstddef>
#include <cstdint>

#include "spock/core/apply_deps.hpp"

namespace spock::core {

struct BatchLimits {
    std::size_t max_txns = 32;
    std::size_t max_bytes = 256 * 1024;
};

class PendingBatch {
  public:
    explicit PendingBatch(BatchLimits limits = {}) : limits_(limits) {}

    bool empty() const noexcept { return count_ == 0; }
    std::size_t count() const noexcept { return count_; }
    std::size_t bytes() const noexcept { return bytes_; }
    ApplySeq first() const noexcept { return first_; }
    ApplySeq last() const noexcept { return first_ + count_ - (count_ > 0 ? 1 : 0); }
    // What the first transaction of the batch waits for (0: nothing).
    ApplySeq first_wait_for() const noexcept { return first_wait_for_; }

    // True when a transaction of `bytes` more would take the batch over its limits.
    bool full_for(std::size_t bytes) const noexcept;
    bool full() const noexcept { return full_for(0); }

    // Whether transaction `a` (admitted just now, of `bytes`) joins the batch rather than
    // going to a process at once. `idle_process`: some process could take it now;
    // `committed`: every transaction up to it committed. Once the batch has a transaction,
    // every later one joins it (until it is full), which keeps a batch consecutive and the
    // hand-out in order.
    bool joins(const Admission& a, std::size_t bytes, bool idle_process,
               ApplySeq committed) const noexcept;

    // Adds transaction `a`; its number follows the last one's (or starts the batch).
    // False (nothing added) when it does not follow or the batch is full.
    bool add(const Admission& a, std::size_t bytes) noexcept;

    // Whether the batch goes out now, to the `idle` idle processes (`all_idle`: no process
    // has work). It goes when every process is idle, when `force` (the leader needs them all
    // idle, or hands out a lone independent transaction), or when it holds no more
    // transactions than idle processes and its first one waits for nothing still being
    // applied. Otherwise (also when full) it waits for more processes to become idle, so a
    // run of consecutive transactions is not handed to one process.
    bool ready(std::size_t idle, bool all_idle, ApplySeq committed, bool force) const noexcept;

    // Over how many processes the batch is striped when it goes out to `idle` idle ones.
    std::size_t stripes(std::size_t idle) const noexcept { return count_ < idle ? count_ : idle; }
    // The stripe of the batch's transaction at `index` (0-based) among `stripes`.
    static std::size_t stripe_of(std::size_t index, std::size_t stripes) noexcept {
        return stripes == 0 ? 0 : index % stripes;
    }

    void clear() noexcept;

  private:
    BatchLimits limits_;
    ApplySeq first_ = 0;
    ApplySeq first_wait_for_ = 0;
    std::size_t count_ = 0;
    std::size_t bytes_ = 0;
};

}  // namespace spock::core
