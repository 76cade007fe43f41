// Waiting for synchronisation (reference §3.2): sub_wait_for_sync and table_wait_for_sync poll
// spock.local_sync_status every 200 ms, each time with a fresh snapshot.
#include "spock/catalog/subscription.hpp"
#include "spock/catalog/values.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/waits.hpp"

extern "C" {
#include <access/xact.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <storage/latch.h>
}

using namespace spock;

namespace {

// A snapshot taken once would never see the worker's progress.
void require_read_committed(const char* function) {
    if (IsolationUsesXactSnapshot()) {
        throw core::Error("25001",
                          std::string(function) +
                              " cannot run in a transaction whose "
                              "isolation level keeps one snapshot",
                          {}, "Call it in READ COMMITTED, the default.");
    }
}

// Polls `done` (SQL returning true when finished) until it is true.
void wait_until(const std::string& sub_name, const char* sql, const pg::SqlValue& relid) {
    for (;;) {
        pg::spi_connect();
        catalog::Subscription sub = catalog::require_subscription(sub_name);
        pg::SqlValue done = pg::spi_value(sql, {catalog::to_text(sub.id), relid});
        pg::spi_finish();
        if (done && *done == "t") {
            return;
        }
        pg::sleep_on_latch(200L);
    }
}

}  // namespace

SPOCK_PG_FUNCTION(spock_sub_wait_for_sync) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    require_read_committed("spock.sub_wait_for_sync()");
    wait_until(
        name,
        "SELECT EXISTS (SELECT 1 FROM spock.local_sync_status WHERE sync_subid = $1::oid "
        "               AND sync_nspname IS NULL AND sync_relname IS NULL "
        "               AND sync_status = 'r') "
        "   AND NOT EXISTS (SELECT 1 FROM spock.local_sync_status WHERE sync_subid = $1::oid "
        "               AND sync_relname IS NOT NULL AND sync_status <> 'r') "
        "   AND $2::text IS NULL",
        std::nullopt);
    PG_RETURN_VOID();
}

SPOCK_PG_FUNCTION(spock_table_wait_for_sync) {
    std::string name = pg::name_arg(fcinfo, 0, "subscription_name");
    Oid relid = pg::oid_arg(fcinfo, 1, "relation");
    require_read_committed("spock.table_wait_for_sync()");
    // Ready when the table's own row is ready, or when it has none and the subscription as a
    // whole is (a table copied with the initial synchronisation).
    wait_until(name,
               "SELECT coalesce((SELECT s.sync_status = 'r' FROM spock.local_sync_status s "
               "                 JOIN pg_class c ON c.relname = s.sync_relname "
               "                 JOIN pg_namespace n ON n.oid = c.relnamespace "
               "                      AND n.nspname = s.sync_nspname "
               "                 WHERE s.sync_subid = $1::oid AND c.oid = $2::oid), "
               "       (SELECT sync_status = 'r' FROM spock.local_sync_status "
               "        WHERE sync_subid = $1::oid AND sync_nspname IS NULL "
               "          AND sync_relname IS NULL))",
               catalog::to_text(relid));
    PG_RETURN_VOID();
}
