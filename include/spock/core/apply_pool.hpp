// The leader's bookkeeping of its apply processes, for parallel apply (docs/architecture.md,
// "Parallel apply"): where the next complete transaction goes, whether commits keep the
// provider's order, and which position may be confirmed to the provider.
//
// A process holds one hand-over at a time: a stripe of a batch sent in one message
// (apply_batch.hpp), transactions first, first + step, ... up to last, which it applies and
// commits one after the other. A
// transaction larger than the leader may buffer is applied by the leader itself once every
// process is idle. Processes commit in
// transaction order (they wait for their turn); a commit report out of that order means the
// set is broken, and the leader restarts it from confirmed(), the end of the newest transaction
// committed: every transaction up to it committed, none after it.
//
// Pure C++, no allocation after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "spock/core/apply_deps.hpp"
#include "spock/core/lsn.hpp"

namespace spock::core {

enum class Route : std::uint8_t {
    Process,      // hand it to process `process`
    WaitForIdle,  // every process is busy: wait for a commit, then ask again
    Leader,       // too large to hand out: wait until all are idle, then apply it here
};

struct RouteDecision {
    Route route = Route::WaitForIdle;
    std::uint32_t process = 0;  // 0-based, for Route::Process
};

class ApplyPool {
  public:
    ApplyPool(std::uint32_t processes, std::size_t max_txn_bytes);

    RouteDecision route(std::size_t txn_bytes) const noexcept;

    // Transactions first, first + step, ..., last were handed to `process` (which was idle) in
    // one message. The stripes of one batch are assigned in the order of their first
    // transaction, each after every transaction of the batches before.
    void assign(std::uint32_t process, ApplySeq first, ApplySeq last, ApplySeq step = 1) noexcept;

    // The idle processes, lowest first, into out (at most max); returns how many.
    std::size_t idle(std::uint32_t* out, std::size_t max) const noexcept;

    // `process` committed `seq`, which ends at `end_lsn` on the provider. False (and nothing
    // recorded) when it is not the oldest transaction in flight or not that process's next
    // one: the leader must restart the set.
    bool committed(std::uint32_t process, ApplySeq seq, Lsn end_lsn) noexcept;

    // The leader applied and committed a transaction itself (all processes idle).
    void committed_by_leader(Lsn end_lsn) noexcept;

    Lsn confirmed() const noexcept { return confirmed_; }
    bool all_idle() const noexcept { return in_flight_ == 0; }
    std::size_t in_flight() const noexcept { return in_flight_; }

    // A process exited or the order broke: forget every transaction in flight. The stream
    // restarts after confirmed().
    void reset() noexcept;

  private:
    struct Slot {
        ApplySeq next = 0;  // the next one it commits; 0: idle
        ApplySeq last = 0;
        ApplySeq step = 1;
    };
    std::vector<Slot> slots_;
    std::size_t max_txn_bytes_;
    std::size_t in_flight_ = 0;
    ApplySeq last_first_ = 0;  // the first transaction of the latest stripe assigned
    Lsn confirmed_;
};

}  // namespace spock::core
