// Updating the apply worker's per-subscription counters (ApplyStats in shared memory,
// spock.apply_stats()).
#pragma once

#include <string>

#include "spock/core/apply_failures.hpp"
#include "spock/core/conflict_types.hpp"
#include "spock/core/exception_policy.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::apply {

// A worker process for the subscription started.
void count_worker_start(Oid subid);

// A remote transaction was replayed with `outcome`; `changes_discarded` changes were not
// applied; `error` is the first error ("[SQLSTATE] message").
void count_replay(Oid subid, core::ReplayOutcome outcome, uint64 changes_discarded,
                  const std::string& error);

// A remote transaction's record went to a spill file of `bytes` bytes.
void count_spill(Oid subid, uint64 bytes);

// Adds the conflicts this process counted since the last call (row apply counts them as it
// meets them) to the subscription's counters, and clears them. Takes the lock only when there
// is something to add: called after every local commit.
void count_conflicts(Oid subid);

// Parallel apply's record of the transaction its set last ended on (kept across restarts).
core::SetFailure load_set_failure(Oid subid);
void store_set_failure(Oid subid, core::SetFailure f);

}  // namespace spock::apply
