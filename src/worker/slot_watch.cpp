// Warnings about spock slots that keep WAL for a subscriber that does not come. See
// slot_watch.hpp.
#include "slot_watch.hpp"

#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"

extern "C" {
#include <access/xlog.h>
#include <utils/builtins.h>
}

namespace spock::worker {

void SlotWatch::check() {
    TimestampTz now = GetCurrentTimestamp();
    if (last_check_ != 0 && !TimestampDifferenceExceeds(last_check_, now, kIntervalMs)) {
        return;
    }
    last_check_ = now;
    // max_wal_size is in MB.
    std::string limit = std::to_string(static_cast<long long>(max_wal_size_mb) * 1024 * 1024);
    pg::begin_xact();
    pg::spi_connect();
    std::vector<pg::SqlRow> rows = pg::spi_query(
        "SELECT slot_name::text, active::text, coalesce(wal_status, ''), "
        "       pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)) "
        "FROM pg_catalog.pg_replication_slots "
        "WHERE plugin = 'spock_output' AND database = current_database() "
        "  AND restart_lsn IS NOT NULL "
        "  AND (wal_status = 'lost' OR (NOT active AND "
        "       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) > $1::numeric))",
        {limit});
    pg::spi_finish();
    pg::commit_xact();
    std::map<std::string, TimestampTz> still;
    for (const pg::SqlRow& r : rows) {
        const std::string& slot = *r[0];
        auto it = warned_.find(slot);
        if (it != warned_.end() && !TimestampDifferenceExceeds(it->second, now, kRepeatMs)) {
            still[slot] = it->second;
            continue;
        }
        still[slot] = now;
        const std::string size = r[3] ? *r[3] : "?";
        if (*r[2] == "lost") {
            pg::pg_call([&] {
                ereport(WARNING,
                        (errmsg("replication slot \"%s\" has lost WAL its subscriber needs",
                                slot.c_str()),
                         errdetail("The WAL its subscriber has not confirmed was removed "
                                   "(max_slot_wal_keep_size); the subscriber cannot catch up."),
                         errhint("Drop the subscription on the subscriber and create it again "
                                 "with synchronize_data, or drop the slot with "
                                 "pg_drop_replication_slot('%s') if the subscriber is gone.",
                                 slot.c_str())));
            });
        } else {
            pg::pg_call([&] {
                ereport(WARNING,
                        (errmsg("replication slot \"%s\" is inactive and retains %s of WAL",
                                slot.c_str(), size.c_str()),
                         errdetail("No subscriber streams from it; the server keeps the WAL "
                                   "until one confirms it, which is more than max_wal_size "
                                   "now."),
                         errhint("If its subscriber is gone for good, drop the subscription "
                                 "there or the slot here with pg_drop_replication_slot('%s'); "
                                 "max_slot_wal_keep_size bounds the WAL a slot may keep.",
                                 slot.c_str())));
            });
        }
    }
    warned_ = std::move(still);
}

}  // namespace spock::worker
