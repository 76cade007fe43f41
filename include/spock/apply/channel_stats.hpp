// Per-(subscription, table) apply counters in shared memory: spock.get_channel_stats() and the
// views channel_table_stats / channel_summary_stats (docs/conflicts.md#channel-statistics).
//
// The apply worker counts each applied change in a process-local list (core::ChannelPending)
// and adds the list to the shared table after the local commit (channel_stats_flush), or
// drops it when the local transaction is rolled back (channel_stats_discard). Nothing is
// counted while spock.channel_counters is off. The shared table holds at most
// spock.stats_max_entries entries; when it is full, changes to tables without an entry are
// not counted, only added up (WARNING once, until get_channel_stats() or a reset).
#pragma once

#include <vector>

#include "spock/apply/row_apply.hpp"
#include "spock/core/channel_stats.hpp"
#include "spock/core/protocol.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Installs the shared memory hooks. Called from _PG_init.
void install_channel_stats_shmem();

// Counts one applied change of the remote relation `remote_relid` (mapped to its local table)
// and `conflicts` conflicts it met. Never ereports (std::bad_alloc at worst): safe from C++.
void channel_stats_count(core::RelId remote_relid, core::ChannelCounter counter,
                         std::uint64_t conflicts);

inline std::uint64_t conflicts_seen(const core::ConflictCounts& c) noexcept {
    std::uint64_t sum = 0;
    for (std::uint64_t v : c.n) {
        sum += v;
    }
    return sum;
}

// For the buffered INSERTs (multi_insert.cpp): `conflicts` conflicts that rows of
// `remote_relid` met when their run was written, after the changes that brought them were
// counted. Plain glue (raises ERROR, never a C++ exception); nothing when
// spock.channel_counters is off.
void channel_stats_count_conflicts(core::RelId remote_relid, std::uint64_t conflicts);

// How many conflicts channel_stats_count_conflicts() has counted in this process so far.
std::uint64_t conflicts_counted_apart() noexcept;

// Runs `apply` (one remote change of `remote_relid`) and, when it returns, counts it with the
// conflicts row apply met meanwhile, less those counted on their own table already (a buffered
// run of another table written during this change). A change that throws is not counted.
template <typename F>
void counted_change(core::RelId remote_relid, core::ChannelCounter counter, F&& apply) {
    if (!gucs::channel_counters) {
        apply();
        return;
    }
    const core::ConflictCounts& seen = pending_conflicts();
    std::uint64_t before = conflicts_seen(seen);
    std::uint64_t apart = conflicts_counted_apart();
    apply();
    std::uint64_t after = conflicts_seen(seen);
    std::uint64_t met = after >= before ? after - before : after;
    apart = conflicts_counted_apart() - apart;
    channel_stats_count(remote_relid, counter, met >= apart ? met - apart : 0);
}

// For the delta-apply code: `columns` delta applies on local table `relid` (n_dca). Counted
// with the transaction like every other change; nothing when spock.channel_counters is off.
// Plain glue: callable from row apply (raises ERROR, never a C++ exception).
void channel_stats_count_delta(Oid relid, std::uint64_t columns = 1);

// After a local commit of the apply worker for subscription `subid`: adds what the transaction
// counted to the shared table. Plain glue (ereports a WARNING once when the table is full);
// call through pg_call.
void channel_stats_flush(Oid subid);

// The local transaction (or the part of it that counted) was rolled back. Never ereports.
void channel_stats_discard() noexcept;

// For the SQL functions. Caller runs in a guarded frame; these take and release the lock
// themselves and never ereport while holding it.
struct ChannelStatsRow {
    Oid subid;
    Oid relid;
    core::ChannelCounts counts;
};
// Entries of database `dboid`; clears the "full" flag so that a worker warns again the next
// time the table is full. `untracked` gets the number of changes not counted since the last
// reset because the table was full.
std::vector<ChannelStatsRow> read_channel_stats(Oid dboid, std::uint64_t* untracked,
                                                std::int64_t* capacity);
// Empties the whole table (every database, as Spock 5).
void reset_channel_stats();

}  // namespace spock::apply
