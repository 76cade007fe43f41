// The leader's pending hand-over of parallel apply; see the header.
#include "spock/core/apply_batch.hpp"

namespace spock::core {

bool PendingBatch::full_for(std::size_t bytes) const noexcept {
    if (count_ == 0) {
        return false;  // one transaction always fits (the leader bounds its size)
    }
    return count_ >= limits_.max_txns || bytes_ + bytes > limits_.max_bytes;
}

bool PendingBatch::joins(const Admission& a, std::size_t bytes, bool idle_process,
                         ApplySeq committed) const noexcept {
    if (!empty()) {
        return !full_for(bytes);
    }
    // A process that would start by waiting for a transaction still being applied gains
    // nothing: keep it until that one committed, and let the next ones join it.
    bool would_wait = a.wait_for > committed;
    return !idle_process || would_wait;
}

bool PendingBatch::add(const Admission& a, std::size_t bytes) noexcept {
    if (a.seq == 0 || full_for(bytes) || (count_ > 0 && a.seq != last() + 1)) {
        return false;
    }
    if (count_ == 0) {
        first_ = a.seq;
        first_wait_for_ = a.wait_for;
    }
    ++count_;
    bytes_ += bytes;
    return true;
}

bool PendingBatch::ready(std::size_t idle, bool all_idle, ApplySeq committed,
                         bool force) const noexcept {
    if (empty() || idle == 0) {
        return false;
    }
    if (force || all_idle) {
        return true;
    }
    return count_ <= idle && first_wait_for_ <= committed;
}

void PendingBatch::clear() noexcept {
    first_ = 0;
    first_wait_for_ = 0;
    count_ = 0;
    bytes_ = 0;
}

}  // namespace spock::core
