// The spock supervisor. For now it only exists: it waits on its latch, reloads configuration on
// SIGHUP and exits on SIGTERM. Starting per-database managers comes with the apply workers.
#include "spock/worker/supervisor.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <utils/guc.h>
}

namespace spock::worker {

// How long the supervisor sleeps when nothing wakes it.
constexpr long kSupervisorNaptimeMs = 180 * 1000L;

void register_supervisor() {
    BackgroundWorker bgw;
    std::memset(&bgw, 0, sizeof bgw);
    bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
    bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
    bgw.bgw_restart_time = 5;
    snprintf(bgw.bgw_library_name, BGW_MAXLEN, "spock");
    snprintf(bgw.bgw_function_name, BGW_MAXLEN, "spock_supervisor_main");
    snprintf(bgw.bgw_name, BGW_MAXLEN, "spock supervisor");
    snprintf(bgw.bgw_type, BGW_MAXLEN, "spock supervisor");
    RegisterBackgroundWorker(&bgw);
}

namespace {

[[noreturn]] void supervisor_loop() {
    // No database: the supervisor only needs shared catalogs. Connecting this way also makes
    // it visible in pg_stat_activity.
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    ereport(LOG, (errmsg("spock supervisor started")));

    for (;;) {
        int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                           kSupervisorNaptimeMs, PG_WAIT_EXTENSION);
        (void)rc;
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
        if (ShutdownRequestPending) {
            // Exit code 1 keeps the worker registered: the postmaster restarts it after
            // bgw_restart_time unless the whole server is shutting down.
            ereport(LOG, (errmsg("spock supervisor exiting on request")));
            proc_exit(1);
        }
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
    }
}

}  // namespace
}  // namespace spock::worker

extern "C" SPOCK_EXPORT void spock_supervisor_main(Datum main_arg);

void spock_supervisor_main(Datum /*main_arg*/) {
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    BackgroundWorkerUnblockSignals();
    spock::pg::guarded([] { spock::worker::supervisor_loop(); });
}
