// Updating the apply worker's per-subscription counters (ApplyStats in shared memory,
// spock.apply_stats()).
#pragma once

#include <string>

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

}  // namespace spock::apply
