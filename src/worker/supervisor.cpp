// The spock supervisor (reference §1.2): one static background worker per cluster that starts
// a manager for every database that can be connected to. Managers of databases without spock
// exit at once; the supervisor looks again when a node or subscription changes (they wake it)
// and every few minutes.
#include "spock/worker/supervisor.hpp"

#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/worker/shmem.hpp"

extern "C" {
#include <access/htup_details.h>
#include <access/heapam.h>
#include <access/table.h>
#include <access/tableam.h>
#include <access/xact.h>
#include <catalog/pg_database.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <utils/guc.h>
#include <utils/memutils.h>
#include <utils/snapmgr.h>
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

// Databases that accept connections (datallowconn, not being dropped). The list lives in the
// caller's context, not in the transaction's, which is gone after the commit.
List* connectable_databases() {
    List* out = NIL;
    MemoryContext caller = CurrentMemoryContext;
    StartTransactionCommand();
    PushActiveSnapshot(GetTransactionSnapshot());
    Relation rel = table_open(DatabaseRelationId, AccessShareLock);
    TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
    HeapTuple tuple;
    while (HeapTupleIsValid(tuple = heap_getnext(scan, ForwardScanDirection))) {
        auto* db = reinterpret_cast<Form_pg_database>(GETSTRUCT(tuple));
        if (db->datallowconn && db->datconnlimit != DATCONNLIMIT_INVALID_DB) {
            MemoryContext old = MemoryContextSwitchTo(caller);
            out = lappend_oid(out, db->oid);
            MemoryContextSwitchTo(old);
        }
    }
    table_endscan(scan);
    table_close(rel, AccessShareLock);
    PopActiveSnapshot();
    CommitTransactionCommand();
    return out;
}

// Starts the managers that are missing. A manager that failed is started again only after
// spock.restart_delay_default; returns how long until the next such restart is due (or the
// default nap when none is).
long start_managers() {
    long next_ms = kSupervisorNaptimeMs;
    List* dbs = connectable_databases();
    ListCell* lc;
    TimestampTz now = GetCurrentTimestamp();
    foreach (lc, dbs) {
        Oid db = lfirst_oid(lc);
        if (ShutdownRequestPending) {
            break;
        }
        LWLockAcquire(shared()->lock, LW_SHARED);
        bool running = find_slot(WorkerType::Manager, db, InvalidOid) >= 0;
        for (int i = 0; i < shared()->nslots && !running; i++) {
            const WorkerSlot& s = shared()->slots[i];
            if (s.type == WorkerType::Manager && s.dboid == db &&
                s.status == WorkerStatus::Stopped && s.terminated_at != 0) {
                TimestampTz due =
                    TimestampTzPlusMilliseconds(s.terminated_at, gucs::restart_delay_default);
                if (due > now) {
                    running = true;  // not yet
                    next_ms =
                        std::min(next_ms, std::max(TimestampDifferenceMilliseconds(now, due), 1L));
                }
            }
        }
        LWLockRelease(shared()->lock);
        if (!running) {
            char name[BGW_MAXLEN];
            snprintf(name, sizeof name, "spock manager %u", db);
            start_worker(WorkerType::Manager, db, InvalidOid, name);
        }
    }
    list_free(dbs);
    return next_ms;
}

[[noreturn]] void supervisor_loop() {
    // No database: the supervisor only needs shared catalogs. Connecting this way also makes
    // it visible in pg_stat_activity.
    BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
    LWLockAcquire(shared()->lock, LW_EXCLUSIVE);
    shared()->supervisor = MyProc;
    shared()->subscriptions_changed = true;
    LWLockRelease(shared()->lock);
    ereport(LOG, (errmsg("spock supervisor started")));

    for (;;) {
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
        LWLockAcquire(shared()->lock, LW_EXCLUSIVE);
        bool changed = shared()->subscriptions_changed;
        shared()->subscriptions_changed = false;
        LWLockRelease(shared()->lock);
        long nap = kSupervisorNaptimeMs;
        if (changed) {
            nap = start_managers();
        }
        if (ShutdownRequestPending) {
            continue;  // checked at the top of the loop
        }
        int rc = WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, nap,
                           PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        if ((rc & WL_TIMEOUT) || nap < kSupervisorNaptimeMs) {
            LWLockAcquire(shared()->lock, LW_EXCLUSIVE);
            shared()->subscriptions_changed = true;
            LWLockRelease(shared()->lock);
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
