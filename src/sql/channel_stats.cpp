// Statistics functions of the SQL API (reference §3.6): per-table apply counters
// (get_channel_stats, reset_channel_stats) and the reset of the per-type conflict counters
// (reset_sub_conflict_stats, ours). docs/conflicts.md#counters says what each one counts.
#include "spock/apply/channel_stats.hpp"
#include "spock/catalog/subscription.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/worker/shmem.hpp"

extern "C" {
#include <miscadmin.h>
#include <utils/timestamp.h>
}

using namespace spock;

// One row per (subscription, table) of this database with counts. Clears the "table full"
// flag (as Spock 5), and warns when changes went uncounted because the table was full.
SPOCK_PG_FUNCTION(spock_get_channel_stats) {
    std::uint64_t untracked = 0;
    std::int64_t capacity = 0;
    std::vector<apply::ChannelStatsRow> entries =
        apply::read_channel_stats(MyDatabaseId, &untracked, &capacity);
    if (untracked > 0) {
        unsigned long long n = untracked;
        long long cap = capacity;
        pg::pg_call([n, cap] {
            ereport(WARNING,
                    (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                     errmsg("%llu applied changes were not counted: the channel statistics "
                            "table is full",
                            n),
                     errdetail("It holds spock.stats_max_entries = %lld (subscription, table) "
                               "entries, for every database of the server.",
                               cap),
                     errhint("Raise spock.stats_max_entries (takes a restart), or empty the "
                             "table with spock.reset_channel_stats().")));
        });
    }
    std::vector<pg::SqlRow> rows;
    rows.reserve(entries.size());
    for (const apply::ChannelStatsRow& e : entries) {
        pg::SqlRow row{std::to_string(e.subid), std::to_string(e.relid)};
        for (std::uint64_t v : e.counts.n) {
            row.push_back(std::to_string(v));
        }
        rows.push_back(std::move(row));
    }
    return pg::rows_result(fcinfo, rows);
}

// Empties the whole table, every database (as Spock 5). EXECUTE is revoked from PUBLIC.
SPOCK_PG_FUNCTION(spock_reset_channel_stats) {
    (void)fcinfo;
    apply::reset_channel_stats();
    PG_RETURN_VOID();
}

// spock.reset_sub_conflict_stats(subscription name DEFAULT NULL): sets the conflict counters
// and apply_error_count of spock.sub_conflict_stats to zero for one subscription (NULL: every
// subscription of this database) and records when, like PostgreSQL's
// pg_stat_reset_subscription_stats(). spock.apply_stats() is left alone. EXECUTE is revoked
// from PUBLIC.
SPOCK_PG_FUNCTION(spock_reset_sub_conflict_stats) {
    std::optional<Oid> only;
    if (!PG_ARGISNULL(0)) {
        std::string name = pg::name_arg(fcinfo, 0, "subscription");
        pg::spi_connect();
        std::optional<catalog::Subscription> sub = catalog::find_subscription(name);
        pg::spi_finish();
        if (!sub) {
            throw core::Error(core::sqlstate::kUndefinedObject,
                              "subscription \"" + name + "\" not found",
                              "No subscription of this database has that name; its conflict "
                              "counters were not reset.",
                              "spock.sub_show_status() lists the subscriptions; pass NULL to "
                              "reset them all.");
        }
        only = sub->id;
    }
    TimestampTz now = GetCurrentTimestamp();
    worker::SpockShared* sh = worker::shared();
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    if (only.has_value()) {
        // An entry is made if there is none, so that stats_reset says when.
        worker::ApplyStats* e = worker::find_apply_stats(MyDatabaseId, *only, true);
        if (e != nullptr) {
            worker::reset_conflict_counts(*e, now);
        }
    } else {
        for (int i = 0; i < sh->nslots; i++) {
            worker::ApplyStats& e = sh->apply_stats[i];
            if (e.dboid == MyDatabaseId) {
                worker::reset_conflict_counts(e, now);
            }
        }
    }
    LWLockRelease(sh->lock);
    PG_RETURN_VOID();
}
