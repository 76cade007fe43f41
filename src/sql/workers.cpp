// Apply-worker functions of the SQL API (reference §3.2): status, waiting, pausing.
#include "spock/apply/parallel_status.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/waits.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/worker/shmem.hpp"
#include "spock/worker/status.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <storage/latch.h>
#include <utils/timestamp.h>
}

using namespace spock;
using worker::WorkerSlot;
using worker::WorkerStatus;
using worker::WorkerType;

namespace spock::worker {

bool apply_worker_running(Oid dboid, Oid subid) {
    LWLockAcquire(shared()->lock, LW_SHARED);
    int i = find_slot(WorkerType::Apply, dboid, subid);
    bool running = i >= 0 && shared()->slots[i].status == WorkerStatus::Running;
    LWLockRelease(shared()->lock);
    return running;
}

bool stop_apply_worker(Oid dboid, Oid subid, long timeout_ms) {
    TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
    bool signalled = false;
    for (;;) {
        LWLockAcquire(shared()->lock, LW_SHARED);
        int i = find_slot(WorkerType::Apply, dboid, subid);
        pid_t pid = i >= 0 ? shared()->slots[i].pid : 0;
        LWLockRelease(shared()->lock);
        if (i < 0) {
            return true;
        }
        if (pid != 0 && !signalled) {
            kill(pid, SIGTERM);
            signalled = true;
        }
        if (GetCurrentTimestamp() >= deadline) {
            return false;
        }
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100L,
                  PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    }
}

}  // namespace spock::worker

namespace {

const char* status_text(WorkerStatus s) {
    switch (s) {
        case WorkerStatus::None:
            return "none";
        case WorkerStatus::Starting:
            return "idle";
        case WorkerStatus::Running:
            return "running";
        case WorkerStatus::Stopping:
            return "stopping";
        case WorkerStatus::Stopped:
            return "stopped";
    }
    return "unknown";
}

}  // namespace

SPOCK_PG_FUNCTION(spock_get_apply_worker_status) {
    std::vector<pg::SqlRow> rows;
    LWLockAcquire(worker::shared()->lock, LW_SHARED);
    for (int i = 0; i < worker::shared()->nslots; i++) {
        const WorkerSlot& s = worker::shared()->slots[i];
        if (s.type != WorkerType::Apply || s.proc == nullptr) {
            continue;
        }
        rows.push_back({std::to_string(s.pid), std::to_string(s.dboid), std::to_string(s.subid),
                        std::string(status_text(s.status))});
    }
    LWLockRelease(worker::shared()->lock);
    return pg::rows_result(fcinfo, rows);
}

// The parallel apply processes of every apply worker (spock.get_parallel_apply_status()).
SPOCK_PG_FUNCTION(spock_get_parallel_apply_status) {
    std::vector<pg::SqlRow> rows;
    for (const apply::ParallelProcessStatus& p : apply::parallel_apply_status()) {
        rows.push_back({std::to_string(p.leader_pid), std::to_string(p.dboid),
                        std::to_string(p.subid), std::to_string(p.process),
                        p.pid != 0 ? pg::SqlValue(std::to_string(p.pid)) : std::nullopt, p.state,
                        std::to_string(p.xacts)});
    }
    return pg::rows_result(fcinfo, rows);
}

// The apply workers' per-subscription counters of this database (spock.apply_stats()).
SPOCK_PG_FUNCTION(spock_apply_counters) {
    std::vector<worker::ApplyStats> copies;
    std::vector<pid_t> pids;
    copies.reserve(worker::shared()->nslots);
    pids.reserve(worker::shared()->nslots);
    LWLockAcquire(worker::shared()->lock, LW_SHARED);
    for (int i = 0; i < worker::shared()->nslots; i++) {
        const worker::ApplyStats& e = worker::shared()->apply_stats[i];
        if (e.dboid != MyDatabaseId) {
            continue;
        }
        int slot = worker::find_slot(WorkerType::Apply, e.dboid, e.subid);
        copies.push_back(e);  // capacity reserved above: no allocation under the lock
        pids.push_back(slot >= 0 ? worker::shared()->slots[slot].pid : 0);
    }
    LWLockRelease(worker::shared()->lock);
    std::vector<pg::SqlRow> rows;
    for (size_t i = 0; i < copies.size(); i++) {
        const worker::ApplyStats& e = copies[i];
        pg::SqlValue when;
        if (e.last_error_time != 0) {
            TimestampTz t = e.last_error_time;
            when = std::string(pg::pg_call([t] { return timestamptz_to_str(t); }));
        }
        pg::SqlValue error;
        if (e.last_error[0] != '\0') {
            error = std::string(e.last_error, strnlen(e.last_error, sizeof e.last_error));
        }
        rows.push_back({std::to_string(e.subid),
                        pids[i] != 0 ? pg::SqlValue(std::to_string(pids[i])) : std::nullopt,
                        std::to_string(e.worker_starts), std::to_string(e.xacts_replayed),
                        std::to_string(e.xacts_applied_on_replay),
                        std::to_string(e.xacts_partly_applied), std::to_string(e.xacts_discarded),
                        std::to_string(e.xacts_disabled), std::to_string(e.changes_discarded),
                        std::to_string(e.xacts_spilled), std::to_string(e.bytes_spilled), error,
                        when});
    }
    return pg::rows_result(fcinfo, rows);
}

// Conflicts per subscription of this database and type, with the count of replayed
// transactions (spock.sub_conflict_stats, docs/conflicts.md).
SPOCK_PG_FUNCTION(spock_conflict_counters) {
    std::vector<worker::ApplyStats> copies;
    copies.reserve(worker::shared()->nslots);
    LWLockAcquire(worker::shared()->lock, LW_SHARED);
    for (int i = 0; i < worker::shared()->nslots; i++) {
        const worker::ApplyStats& e = worker::shared()->apply_stats[i];
        if (e.dboid == MyDatabaseId) {
            copies.push_back(e);  // capacity reserved above: no allocation under the lock
        }
    }
    LWLockRelease(worker::shared()->lock);
    std::vector<pg::SqlRow> rows;
    for (const worker::ApplyStats& e : copies) {
        pg::SqlRow row{std::to_string(e.subid),
                       std::to_string(e.xacts_replayed - e.replayed_at_reset)};
        for (uint64 n : e.conflicts) {
            row.push_back(std::to_string(n));
        }
        pg::SqlValue reset;
        if (e.conflicts_reset != 0) {
            TimestampTz t = e.conflicts_reset;
            reset = std::string(pg::pg_call([t] { return timestamptz_to_str(t); }));
        }
        row.push_back(reset);  // stats_reset: last
        rows.push_back(std::move(row));
    }
    return pg::rows_result(fcinfo, rows);
}

// Polls every 200 ms: false as soon as the worker is missing or not running, true when it is
// still running after `timeout` ms (as Spock does; timeout 0 means one look).
SPOCK_PG_FUNCTION(spock_wait_for_apply_worker) {
    pg::require_arg(fcinfo, 0, "p_subbid");
    int64 subid = PG_GETARG_INT64(0);
    int timeout = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
    if (timeout < 0) {
        throw core::Error(core::sqlstate::kInvalidParameterValue, "timeout must not be negative");
    }
    TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout);
    for (;;) {
        if (!worker::apply_worker_running(MyDatabaseId, static_cast<Oid>(subid))) {
            PG_RETURN_BOOL(false);
        }
        if (timeout == 0) {
            PG_RETURN_BOOL(false);
        }
        if (GetCurrentTimestamp() >= deadline) {
            PG_RETURN_BOOL(true);
        }
        pg::sleep_on_latch(200L);
    }
}

// Pauses the apply workers of this database between transactions (Spock pauses a flag for
// every database but waits only for its own, §14 item 17; ours is per database throughout).
SPOCK_PG_FUNCTION(spock_pause_apply_workers) {
    (void)fcinfo;
    worker::SpockShared* sh = worker::shared();
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    for (int i = 0; i < sh->nslots; i++) {
        WorkerSlot& s = sh->slots[i];
        if (s.type == WorkerType::Apply && s.dboid == MyDatabaseId) {
            s.pause_requested = true;
            if (s.proc != nullptr) {
                SetLatch(&s.proc->procLatch);
            }
        }
    }
    LWLockRelease(sh->lock);
    TimestampTz deadline =
        TimestampTzPlusMilliseconds(GetCurrentTimestamp(), gucs::pause_timeout * 1000L);
    for (;;) {
        bool all_paused = true;
        LWLockAcquire(sh->lock, LW_SHARED);
        for (int i = 0; i < sh->nslots; i++) {
            const WorkerSlot& s = sh->slots[i];
            if (s.type == WorkerType::Apply && s.dboid == MyDatabaseId &&
                s.status == WorkerStatus::Running && !s.paused) {
                all_paused = false;
            }
        }
        LWLockRelease(sh->lock);
        if (all_paused) {
            break;
        }
        if (GetCurrentTimestamp() >= deadline) {
            LWLockAcquire(sh->lock, LW_EXCLUSIVE);
            for (int i = 0; i < sh->nslots; i++) {
                if (sh->slots[i].dboid == MyDatabaseId) {
                    sh->slots[i].pause_requested = false;
                }
            }
            LWLockRelease(sh->lock);
            ConditionVariableBroadcast(&sh->pause_cv);
            throw core::Error("55P03", "apply workers did not pause within spock.pause_timeout",
                              "They were resumed.", "Retry, or raise spock.pause_timeout.");
        }
        pg::sleep_on_latch(10L);
    }
    PG_RETURN_VOID();
}

SPOCK_PG_FUNCTION(spock_resume_apply_workers) {
    (void)fcinfo;
    worker::SpockShared* sh = worker::shared();
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    for (int i = 0; i < sh->nslots; i++) {
        if (sh->slots[i].type == WorkerType::Apply && sh->slots[i].dboid == MyDatabaseId) {
            sh->slots[i].pause_requested = false;
        }
    }
    LWLockRelease(sh->lock);
    ConditionVariableBroadcast(&sh->pause_cv);
    PG_RETURN_VOID();
}
