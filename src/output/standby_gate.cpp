// Why a wait in the BEGIN callback rather than a replacement of the walsender's send path (as
// Spock 5 does with its PqCommMethods hook): the decoding plugin knows, at BEGIN, the end LSN of
// the transaction it is about to send (txn->end_lsn); nothing of the transaction has been
// written yet, so the subscriber never holds part of a transaction the standby lacks, and no
// copy of PostgreSQL's protocol layer has to be kept in step with the server. The walsender's
// keepalives and timeouts keep working through OutputPluginUpdateProgress, which PostgreSQL 15
// provides for plugins that go a long time without writing.
#include "spock/output/standby_gate.hpp"

#include <optional>

#include "spock/pg/guard.hpp"
#include "spock/pg/standby_slots.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <replication/logical.h>
#include <replication/output_plugin.h>
#include <replication/walsender.h>
#include <storage/latch.h>
#include <utils/guc.h>
#include <utils/timestamp.h>
}

namespace spock::output {

namespace {

// PostgreSQL 15 has no wake-up for "a physical slot moved", so the wait polls.
constexpr long kPollMs = 10;
// After this long a LOG line says what the walsender waits for (and again each time as long).
constexpr long kReportMs = 10000;

bool confirmed(XLogRecPtr end_lsn) {
    std::optional<core::Lsn> c = pg::standby_confirmed_lsn();
    return !c || c->value >= end_lsn;
}

}  // namespace

void wait_for_standbys(LogicalDecodingContext* ctx, XLogRecPtr end_lsn) {
    if (!am_walsender || confirmed(end_lsn)) {
        return;
    }
    TimestampTz started = pg::pg_call([] { return GetCurrentTimestamp(); });
    TimestampTz next_report = TimestampTzPlusMilliseconds(started, kReportMs);
    while (!confirmed(end_lsn)) {
        pg::pg_call([&] {
            OutputPluginUpdateProgress(ctx, false);
            int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kPollMs,
                               PG_WAIT_EXTENSION);
            if (rc & WL_LATCH_SET) {
                ResetLatch(MyLatch);
            }
            CHECK_FOR_INTERRUPTS();
            if (ConfigReloadPending) {
                ConfigReloadPending = false;
                ProcessConfigFile(PGC_SIGHUP);
            }
            TimestampTz now = GetCurrentTimestamp();
            if (now >= next_report) {
                next_report = TimestampTzPlusMilliseconds(now, kReportMs);
                ereport(LOG,
                        (errmsg("spock walsender waits for the standbys of "
                                "spock.pg_standby_slot_names to confirm %X/%X",
                                static_cast<uint32>((end_lsn) >> 32), static_cast<uint32>(end_lsn)),
                         errdetail("Nothing newer is sent to the subscriber until they have "
                                   "flushed it; it has waited %ld ms.",
                                   static_cast<long>((now - started) / 1000)),
                         errhint("Start the standbys, or remove stopped ones from "
                                 "spock.pg_standby_slot_names or lower "
                                 "spock.standby_slots_min_confirmed.")));
            }
            return 0;
        });
    }
}

}  // namespace spock::output
