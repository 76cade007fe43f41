// Spock's shared memory: the worker table the supervisor, managers, apply workers and SQL
// functions share (reference §1.6, §1.8).
#pragma once

#include "spock/core/conflict_types.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <port/atomics.h>
#include <storage/condition_variable.h>
#include <storage/lwlock.h>
#include <storage/proc.h>
#include <utils/timestamp.h>
}

struct BackgroundWorkerHandle;

namespace spock::worker {

enum class WorkerType : uint8 { None = 0, Manager, Apply, Sync };

enum class WorkerStatus : uint8 { None = 0, Starting, Running, Stopping, Stopped };

struct WorkerSlot {
    WorkerType type;
    WorkerStatus status;
    uint16 generation;  // bumped on every reuse, so a stale handle cannot act on a new worker
    PGPROC* proc;       // set once the worker attached, nullptr when not running
    pid_t pid;
    Oid dboid;
    Oid subid;                   // apply and sync workers
    TimestampTz terminated_at;   // when it last stopped with an error (0 = clean)
    bool pause_requested;        // pause_apply_workers() of its database
    bool paused;                 // the worker is waiting between transactions
    XLogRecPtr last_received;    // apply workers: newest WAL position received
    XLogRecPtr last_applied;     // apply workers: end LSN of the last applied commit
    TimestampTz last_commit_ts;  // apply workers: commit time of that transaction
    bool streamed;               // apply workers: the replication stream had started; a
                                 // failure after that waits spock.restart_delay_on_exception
    uint32 parallel_dsm;         // apply workers: the dsm_handle of its parallel apply
                                 // processes' segment (0: serial apply)
    uint32 stream_dsm;           // apply workers: the dsm_handle of its stream apply
                                 // process's segment (0: none)
};

// How long after `s` stopped with an error it may be started again: restart_delay_on_exception
// for an apply worker that failed while streaming (a lost connection, say: apply errors do not
// end the worker), else restart_delay_default.
long restart_delay_ms(const WorkerSlot& s);

// Per-subscription counters of the apply worker, kept across worker restarts (until the
// server restarts). One entry per subscription that ever had a worker; entries of dropped
// subscriptions are reused when the table is full. Read by spock.apply_stats() and
// spock.sub_conflict_stats.
inline constexpr int kApplyErrorLen = 256;
struct ApplyStats {
    Oid dboid;  // 0: free
    Oid subid;
    uint64 worker_starts;            // apply worker processes started for the subscription
    uint64 xacts_replayed;           // remote transactions replayed after an error
    uint64 xacts_applied_on_replay;  // ... of which applied in full (the error did not recur)
    uint64 xacts_partly_applied;     // ... applied without their failed changes (discard)
    uint64 xacts_discarded;          // ... discarded whole (transdiscard)
    uint64 xacts_disabled;           // ... that disabled the subscription (sub_disable)
    uint64 changes_discarded;        // changes not applied because of errors
    uint64 xacts_spilled;            // remote transactions whose record went to a spill file
    uint64 bytes_spilled;
    // Conflicts detected, per core::ConflictType; added by the worker after each local commit
    // (docs/conflicts.md says which attempts count).
    uint64 conflicts[core::kConflictTypeCount];
    TimestampTz last_error_time;
    char last_error[kApplyErrorLen];  // "[SQLSTATE] message" of the last apply error
    // spock.reset_sub_conflict_stats(): xacts_replayed at the reset (apply_error_count counts
    // from there) and when (stats_reset; 0 = never).
    uint64 replayed_at_reset;
    TimestampTz conflicts_reset;
    // Schema changes (docs/ddl.md, spock.schema_change_stats()): queued DDL executed, RELATION
    // messages whose columns changed, values for columns the local table does not have.
    uint64 ddl_applied;
    uint64 relation_changes;
    uint64 missing_column_nulls;
    uint64 missing_column_values_dropped;
    // spock.queue messages that arrived a second time (forwarded by another node) and were
    // skipped (docs/ddl.md).
    uint64 queue_repeats_skipped;
    // Queued DDL whose target table here differed from the provider's before the statement
    // (automatic DDL's fingerprint; concurrent or manual DDL).
    uint64 ddl_schema_mismatches;
    // Parallel apply: the transaction the set of processes last ended on and how many times
    // in a row (core::SetFailure; the leader applies it itself after two).
    XLogRecPtr parallel_failed_end;
    uint32 parallel_failures;
    uint32 parallel_streak;     // set failures in a row before a commit past parallel_until
    XLogRecPtr parallel_until;  // the newest transaction of those failures
};

// Sets the conflict counters and apply_error_count of `e` to zero as of `now`. Caller holds
// the lock exclusively.
void reset_conflict_counts(ApplyStats& e, TimestampTz now);

struct SpockShared {
    LWLock* lock;  // protects everything below except the atomics
    PGPROC* supervisor;
    bool subscriptions_changed;
    ConditionVariable pause_cv;
    int nslots;
    ApplyStats* apply_stats;  // nslots entries, after the slots
    WorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
};

// The counters of a subscription; with `create`, an entry is made when there is none (the
// oldest entry of a subscription without a worker is reused when all are taken). nullptr
// when there is none. Caller holds the lock, exclusively with `create`.
ApplyStats* find_apply_stats(Oid dboid, Oid subid, bool create);

// Installs the shared memory hooks. Called from _PG_init.
void install_shmem_hooks();

// The shared state; valid in every process after startup.
SpockShared* shared();

// Registers a dynamic background worker of `type` for (dboid, subid) in a free slot and waits
// until it has started or failed. Returns the slot index, or -1 when no slot or no
// background worker could be had (a WARNING says which). Caller must not hold the lock.
// With `handle`, the caller keeps the postmaster's handle to notice a worker that dies before
// it attaches (see reap_unattached).
int start_worker(WorkerType type, Oid dboid, Oid subid, const char* name,
                 BackgroundWorkerHandle** handle = nullptr);

// Marks slot `index` stopped when its worker, started with `handle`, exited without ever
// attaching (e.g. it failed during startup). Returns true when the handle is finished with.
bool reap_unattached(int index, BackgroundWorkerHandle* handle);

// Finds the running or starting slot of a type for (dboid, subid); -1 when there is none.
// Caller holds the lock (shared or exclusive).
int find_slot(WorkerType type, Oid dboid, Oid subid);

// Attaches the calling background worker to its slot (main_arg) and connects to its database.
// Sets up SIGTERM/SIGHUP handling. Returns the slot.
WorkerSlot* attach_worker(Datum main_arg, WorkerType expected);

// Wakes the supervisor and the manager of `dboid` so they look at the catalog again.
void wake_managers(Oid dboid);

// Wakes the apply worker of a subscription (to re-read it, or to stop when it is gone).
void wake_apply_worker(Oid dboid, Oid subid);

}  // namespace spock::worker
