// Per-table apply counters (see channel_stats.hpp).
#include "spock/core/channel_stats.hpp"

namespace spock::core {

void ChannelCounts::add(const ChannelCounts& o) noexcept {
    for (int i = 0; i < kChannelCounterCount; i++) {
        n[i] += o.n[i];
    }
}

bool ChannelCounts::any() const noexcept {
    for (std::uint64_t v : n) {
        if (v != 0) {
            return true;
        }
    }
    return false;
}

void ChannelPending::add(std::uint32_t relid, ChannelCounter c, std::uint64_t by) {
    if (by == 0) {
        return;
    }
    for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
        if (it->relid == relid) {
            it->counts.add(c, by);
            return;
        }
    }
    Entry e{relid, {}};
    e.counts.add(c, by);
    entries_.push_back(e);
}

std::int64_t channel_stats_capacity(int stats_max_entries, int max_worker_processes) noexcept {
    if (stats_max_entries >= 0) {
        return stats_max_entries;
    }
    return std::int64_t{1000} * (max_worker_processes > 0 ? max_worker_processes : 0);
}

}  // namespace spock::core
