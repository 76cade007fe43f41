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
        if (slots_[i].seq == 0) {
            return RouteDecision{Route::Process, i};
        }
    }
    return RouteDecision{Route::WaitForIdle, 0};
}

void ApplyPool::assign(std::uint32_t process, ApplySeq seq, Lsn end_lsn) noexcept {
    if (process >= slots_.size() || slots_[process].seq != 0 || seq <= last_assigned_) {
        return;  // a caller bug; committed() will then refuse and the set restarts
    }
    slots_[process] = Slot{seq, end_lsn};
    last_assigned_ = seq;
    ++in_flight_;
}

bool ApplyPool::committed(std::uint32_t process, ApplySeq seq) noexcept {
    if (process >= slots_.size() || seq == 0 || slots_[process].seq != seq) {
        return false;
    }
    for (const Slot& s : slots_) {
        if (s.seq != 0 && s.seq < seq) {
            return false;  // an older transaction has not committed: out of order
        }
    }
    confirmed_ = std::max(confirmed_, slots_[process].end_lsn);
    slots_[process] = Slot{};
    --in_flight_;
    return true;
}

void ApplyPool::committed_by_leader(Lsn end_lsn) noexcept {
    confirmed_ = std::max(confirmed_, end_lsn);
}

void ApplyPool::reset() noexcept {
    std::fill(slots_.begin(), slots_.end(), Slot{});
    in_flight_ = 0;
}

}  // namespace spock::core
