// The leader's bookkeeping of its apply processes; see the header.
#include "spock/core/apply_pool.hpp"

#include <algorithm>

namespace spock::core {

ApplyPool::ApplyPool(std::uint32_t processes, std::size_t max_txn_bytes)
    : slots_(std::max<std::uint32_t>(processes, 1)), max_txn_bytes_(max_txn_bytes) {}

RouteDecision ApplyPool::route(std::size_t txn_bytes) const noexcept {
    if (txn_bytes > max_txn_bytes_) {
        return RouteDecision{Route::Leader, 0};
    }
    for (std::uint32_t i = 0; i < slots_.size(); ++i) {
        if (slots_[i].next == 0) {
            return RouteDecision{Route::Process, i};
        }
    }
    return RouteDecision{Route::WaitForIdle, 0};
}

void ApplyPool::assign(std::uint32_t process, ApplySeq first, ApplySeq last,
                       ApplySeq step) noexcept {
    if (process >= slots_.size() || slots_[process].next != 0 || first <= last_first_ ||
        last < first || step == 0 || (last - first) % step != 0) {
        return;  // a caller bug; committed() will then refuse and the set restarts
    }
    for (const Slot& s : slots_) {
        if (s.next != 0 && s.next <= first && first <= s.last && (first - s.next) % s.step == 0) {
            return;  // already in flight
        }
    }
    slots_[process] = Slot{first, last, step};
    last_first_ = first;
    in_flight_ += (last - first) / step + 1;
}

std::size_t ApplyPool::idle(std::uint32_t* out, std::size_t max) const noexcept {
    std::size_t n = 0;
    for (std::uint32_t i = 0; i < slots_.size() && n < max; ++i) {
        if (slots_[i].next == 0) {
            out[n++] = i;
        }
    }
    return n;
}

bool ApplyPool::committed(std::uint32_t process, ApplySeq seq, Lsn end_lsn) noexcept {
    if (process >= slots_.size() || seq == 0 || slots_[process].next != seq) {
        return false;
    }
    for (const Slot& s : slots_) {
        if (s.next != 0 && s.next < seq) {
            return false;  // an older transaction has not committed: out of order
        }
    }
    confirmed_ = std::max(confirmed_, end_lsn);
    Slot& s = slots_[process];
    s = seq == s.last ? Slot{} : Slot{seq + s.step, s.last, s.step};
    --in_flight_;
    return true;
}

void ApplyPool::committed_by_leader(Lsn end_lsn) noexcept {
    confirmed_ = std::max(confirmed_, end_lsn);
}

void ApplyPool::reset() noexcept {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    in_flight_ = 0;
    // last_first_ stays: the numbers go on rising after a restart.
}

}  // namespace spock::core
