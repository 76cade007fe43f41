// Per-table apply counters of a subscription (spock.get_channel_stats(), the views
// channel_table_stats and channel_summary_stats): what one remote transaction adds, kept in the
// apply worker until its local commit, and the capacity of the shared table. Pure C++; the
// shared table itself is glue (src/apply/channel_stats.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace spock::core {

// The columns of get_channel_stats(), in order.
enum class ChannelCounter : int {
    Insert = 0,    // n_tup_ins: remote INSERTs applied
    Update = 1,    // n_tup_upd: remote UPDATEs applied
    Delete = 2,    // n_tup_del: remote DELETEs applied (Spock 5 counts these as updates)
    Conflict = 3,  // n_conflict: conflicts met by the changes counted above
    Delta = 4,     // n_dca: delta applies (columns changed by delta_apply)
};
inline constexpr int kChannelCounterCount = 5;

struct ChannelCounts {
    std::uint64_t n[kChannelCounterCount] = {};

    void add(ChannelCounter c, std::uint64_t by = 1) noexcept { n[static_cast<int>(c)] += by; }
    std::uint64_t get(ChannelCounter c) const noexcept { return n[static_cast<int>(c)]; }
    void add(const ChannelCounts& o) noexcept;
    bool any() const noexcept;
};

// What the changes of the local transaction in progress add, per local table. A transaction
// touches few tables, so a short vector searched from the back (the table of the previous
// change is the likely one) beats a hash.
class ChannelPending {
  public:
    struct Entry {
        std::uint32_t relid;
        ChannelCounts counts;
    };

    void add(std::uint32_t relid, ChannelCounter c, std::uint64_t by = 1);
    bool empty() const noexcept { return entries_.empty(); }
    const std::vector<Entry>& entries() const noexcept { return entries_; }
    // After the local commit (the counts were added to the shared table) or an abort (they
    // never happened).
    void clear() noexcept { entries_.clear(); }

  private:
    std::vector<Entry> entries_;
};

// Capacity of the shared table in (subscription, table) entries: spock.stats_max_entries, or
// 1000 per max_worker_processes when it is -1 (as Spock 5). 0 tracks nothing.
std::int64_t channel_stats_capacity(int stats_max_entries, int max_worker_processes) noexcept;

}  // namespace spock::core
