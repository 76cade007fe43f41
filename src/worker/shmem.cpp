#include "spock/worker/shmem.hpp"

#include "spock/pg/bgworker.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/read_only.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <storage/shmem.h>
#include <utils/memutils.h>
}

namespace spock::worker {
namespace {

SpockShared* state = nullptr;
shmem_request_hook_type prev_request_hook = nullptr;
shmem_startup_hook_type prev_startup_hook = nullptr;
WorkerSlot* my_slot = nullptr;

Size slots_size() {
    return add_size(offsetof(SpockShared, slots),
                    mul_size(max_worker_processes, sizeof(WorkerSlot)));
}

Size shared_size() {
    return add_size(MAXALIGN(slots_size()), mul_size(max_worker_processes, sizeof(ApplyStats)));
}

void request_shmem() {
    if (prev_request_hook != nullptr) {
        prev_request_hook();
    }
    RequestAddinShmemSpace(shared_size());
    RequestNamedLWLockTranche("spock", 1);
}

void startup_shmem() {
    if (prev_startup_hook != nullptr) {
        prev_startup_hook();
    }
    LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
    bool found;
    state = static_cast<SpockShared*>(ShmemInitStruct("spock_context", shared_size(), &found));
    if (!found) {
        memset(state, 0, shared_size());
        state->lock = &(GetNamedLWLockTranche("spock"))->lock;
        state->nslots = max_worker_processes;
        state->apply_stats =
            reinterpret_cast<ApplyStats*>(reinterpret_cast<char*>(state) + MAXALIGN(slots_size()));
        state->subscriptions_changed = true;
        ConditionVariableInit(&state->pause_cv);
    }
    LWLockRelease(AddinShmemInitLock);
}

// Clean exit frees the slot; an error exit records when, so the manager can wait
// spock.restart_delay_default before starting the worker again.
void detach(int code, Datum) {
    if (my_slot == nullptr || state == nullptr) {
        return;
    }
    LWLockAcquire(state->lock, LW_EXCLUSIVE);
    Oid dboid = my_slot->dboid;
    WorkerType type = my_slot->type;
    my_slot->proc = nullptr;
    my_slot->pid = 0;
    my_slot->paused = false;
    if (code == 0) {
        my_slot->type = WorkerType::None;
        my_slot->status = WorkerStatus::None;
        my_slot->terminated_at = 0;
    } else {
        my_slot->status = WorkerStatus::Stopped;
        my_slot->terminated_at = GetCurrentTimestamp();
    }
    // A manager that failed is started again by the supervisor; one that found nothing to do
    // (no spock in its database) waits until a node or subscription changes.
    bool wake = type != WorkerType::Manager || code != 0;
    LWLockRelease(state->lock);
    my_slot = nullptr;
    if (wake) {
        wake_managers(dboid);
    }
}

}  // namespace

long restart_delay_ms(const WorkerSlot& s) {
    if (s.type == WorkerType::Apply && s.streamed) {
        return gucs::restart_delay_on_exception;
    }
    return gucs::restart_delay_default;
}

ApplyStats* find_apply_stats(Oid dboid, Oid subid, bool create) {
    ApplyStats* free_entry = nullptr;
    for (int i = 0; i < state->nslots; i++) {
        ApplyStats* e = &state->apply_stats[i];
        if (e->dboid == dboid && e->subid == subid) {
            return e;
        }
        if (free_entry == nullptr && e->dboid == InvalidOid) {
            free_entry = e;
        }
    }
    if (!create) {
        return nullptr;
    }
    if (free_entry == nullptr) {
        // All taken: reuse an entry whose subscription has no worker now.
        for (int i = 0; i < state->nslots && free_entry == nullptr; i++) {
            ApplyStats* e = &state->apply_stats[i];
            if (find_slot(WorkerType::Apply, e->dboid, e->subid) < 0) {
                free_entry = e;
            }
        }
    }
    if (free_entry == nullptr) {
        return nullptr;
    }
    memset(free_entry, 0, sizeof *free_entry);
    free_entry->dboid = dboid;
    free_entry->subid = subid;
    return free_entry;
}

void reset_conflict_counts(ApplyStats& e, TimestampTz now) {
    memset(e.conflicts, 0, sizeof e.conflicts);
    e.replayed_at_reset = e.xacts_replayed;
    e.conflicts_reset = now;
}

void install_shmem_hooks() {
    prev_request_hook = shmem_request_hook;
    shmem_request_hook = request_shmem;
    prev_startup_hook = shmem_startup_hook;
    shmem_startup_hook = startup_shmem;
}

SpockShared* shared() {
    return state;
}

int find_slot(WorkerType type, Oid dboid, Oid subid) {
    for (int i = 0; i < state->nslots; i++) {
        WorkerSlot& s = state->slots[i];
        if (s.type == type && s.dboid == dboid && s.subid == subid &&
            (s.status == WorkerStatus::Starting || s.status == WorkerStatus::Running)) {
            return i;
        }
    }
    return -1;
}

int start_worker(WorkerType type, Oid dboid, Oid subid, const char* name,
                 BackgroundWorkerHandle** handle_out) {
    LWLockAcquire(state->lock, LW_EXCLUSIVE);
    int index = -1;
    // A free slot, or a stopped one of the same worker (its restart).
    for (int i = 0; i < state->nslots && index < 0; i++) {
        WorkerSlot& s = state->slots[i];
        if (s.type == type && s.dboid == dboid && s.subid == subid &&
            s.status == WorkerStatus::Stopped) {
            index = i;
        }
    }
    for (int i = 0; i < state->nslots && index < 0; i++) {
        if (state->slots[i].type == WorkerType::None) {
            index = i;
        }
    }
    if (index < 0) {
        LWLockRelease(state->lock);
        ereport(WARNING, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                          errmsg("no free spock worker slot for \"%s\"", name),
                          errhint("Increase max_worker_processes.")));
        return -1;
    }
    WorkerSlot& s = state->slots[index];
    uint16 generation = static_cast<uint16>(s.generation + 1);
    memset(&s, 0, sizeof s);
    s.generation = generation;
    s.type = type;
    s.status = WorkerStatus::Starting;
    s.dboid = dboid;
    s.subid = subid;
    LWLockRelease(state->lock);

    const bool manager = type == WorkerType::Manager;
    BackgroundWorkerHandle* handle;
    if (!pg::start_dynamic_worker(manager ? "spock_manager_main" : "spock_apply_main", name,
                                  manager ? "spock manager" : "spock apply", Int32GetDatum(index),
                                  nullptr, 0, &handle)) {
        LWLockAcquire(state->lock, LW_EXCLUSIVE);
        s.type = WorkerType::None;
        s.status = WorkerStatus::None;
        LWLockRelease(state->lock);
        ereport(WARNING, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                          errmsg("could not start background worker \"%s\"", name),
                          errhint("Increase max_worker_processes.")));
        return -1;
    }
    pid_t pid;
    BgwHandleStatus st = WaitForBackgroundWorkerStartup(handle, &pid);
    if (st != BGWH_STARTED) {
        LWLockAcquire(state->lock, LW_EXCLUSIVE);
        if (s.status == WorkerStatus::Starting) {
            s.status = WorkerStatus::Stopped;
            s.terminated_at = GetCurrentTimestamp();
        }
        LWLockRelease(state->lock);
        return -1;
    }
    if (handle_out != nullptr) {
        *handle_out = handle;
    } else {
        pfree(handle);
    }
    return index;
}

bool reap_unattached(int index, BackgroundWorkerHandle* handle) {
    pid_t pid;
    if (GetBackgroundWorkerPid(handle, &pid) != BGWH_STOPPED) {
        return false;
    }
    LWLockAcquire(state->lock, LW_EXCLUSIVE);
    WorkerSlot& s = state->slots[index];
    if (s.status == WorkerStatus::Starting && s.proc == nullptr) {
        s.status = WorkerStatus::Stopped;
        s.terminated_at = GetCurrentTimestamp();
    }
    LWLockRelease(state->lock);
    return true;
}

WorkerSlot* attach_worker(Datum main_arg, WorkerType expected) {
    int index = DatumGetInt32(main_arg);
    pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
    pqsignal(SIGHUP, SignalHandlerForConfigReload);
    BackgroundWorkerUnblockSignals();
    if (index < 0 || index >= state->nslots) {
        elog(ERROR, "spock worker slot %d out of range", index);
    }
    LWLockAcquire(state->lock, LW_EXCLUSIVE);
    WorkerSlot* s = &state->slots[index];
    if (s->type != expected || s->status != WorkerStatus::Starting) {
        LWLockRelease(state->lock);
        // The slot was given up before we started (e.g. the subscription was dropped).
        proc_exit(0);
    }
    s->proc = MyProc;
    s->pid = MyProcPid;
    s->status = WorkerStatus::Running;
    Oid dboid = s->dboid;
    LWLockRelease(state->lock);
    my_slot = s;
    pg::set_process_writer(expected == WorkerType::Apply ? core::Writer::Replication
                                                         : core::Writer::Manager);
    before_shmem_exit(detach, (Datum)0);
    BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);
    return s;
}

void wake_managers(Oid dboid) {
    if (state == nullptr) {
        return;
    }
    LWLockAcquire(state->lock, LW_EXCLUSIVE);
    state->subscriptions_changed = true;
    PGPROC* supervisor = state->supervisor;
    for (int i = 0; i < state->nslots; i++) {
        WorkerSlot& s = state->slots[i];
        if (s.type == WorkerType::Manager && s.dboid == dboid && s.proc != nullptr) {
            SetLatch(&s.proc->procLatch);
        }
    }
    LWLockRelease(state->lock);
    if (supervisor != nullptr) {
        SetLatch(&supervisor->procLatch);
    }
}

void wake_apply_worker(Oid dboid, Oid subid) {
    if (state == nullptr) {
        return;
    }
    LWLockAcquire(state->lock, LW_SHARED);
    int i = find_slot(WorkerType::Apply, dboid, subid);
    if (i >= 0 && state->slots[i].proc != nullptr) {
        SetLatch(&state->slots[i].proc->procLatch);
    }
    LWLockRelease(state->lock);
}

}  // namespace spock::worker
