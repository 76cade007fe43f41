// Per-subscription counters of the apply worker. See apply_stats.hpp.
#include "apply_stats.hpp"

#include "spock/apply/row_apply.hpp"
#include "spock/worker/shmem.hpp"

extern "C" {
#include <miscadmin.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

// Runs fn on the subscription's entry under the lock; nothing when the table is full.
template <typename F>
void with_stats(Oid subid, F&& fn) {
    worker::SpockShared* sh = worker::shared();
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    worker::ApplyStats* e = worker::find_apply_stats(MyDatabaseId, subid, true);
    if (e != nullptr) {
        fn(*e);
    }
    LWLockRelease(sh->lock);
}

}  // namespace

void count_worker_start(Oid subid) {
    with_stats(subid, [](worker::ApplyStats& e) { e.worker_starts++; });
}

void count_replay(Oid subid, core::ReplayOutcome outcome, uint64 changes_discarded,
                  const std::string& error) {
    TimestampTz now = GetCurrentTimestamp();
    with_stats(subid, [&](worker::ApplyStats& e) {
        e.xacts_replayed++;
        switch (outcome) {
            case core::ReplayOutcome::Applied:
                e.xacts_applied_on_replay++;
                break;
            case core::ReplayOutcome::PartlyApplied:
                e.xacts_partly_applied++;
                break;
            case core::ReplayOutcome::Discarded:
                e.xacts_discarded++;
                break;
            case core::ReplayOutcome::Disable:
                e.xacts_disabled++;
                break;
        }
        e.changes_discarded += changes_discarded;
        e.last_error_time = now;
        strlcpy(e.last_error, error.c_str(), sizeof e.last_error);
    });
}

void count_spill(Oid subid, uint64 bytes) {
    with_stats(subid, [bytes](worker::ApplyStats& e) {
        e.xacts_spilled++;
        e.bytes_spilled += bytes;
    });
}

void count_conflicts(Oid subid) {
    core::ConflictCounts& pending = pending_conflicts();
    if (!pending.any()) {
        return;
    }
    with_stats(subid, [&pending](worker::ApplyStats& e) {
        for (int i = 0; i < core::kConflictTypeCount; i++) {
            e.conflicts[i] += pending.n[i];
        }
    });
    pending.clear();
}

core::SetFailure load_set_failure(Oid subid) {
    core::SetFailure f;
    with_stats(subid, [&f](worker::ApplyStats& e) {
        f = core::SetFailure{core::Lsn{e.parallel_failed_end}, e.parallel_failures,
                             e.parallel_streak, core::Lsn{e.parallel_until}};
    });
    return f;
}

void store_set_failure(Oid subid, core::SetFailure f) {
    with_stats(subid, [f](worker::ApplyStats& e) {
        e.parallel_failed_end = f.end_lsn.value;
        e.parallel_failures = f.count;
        e.parallel_streak = f.streak;
        e.parallel_until = f.until.value;
    });
}

}  // namespace spock::apply
