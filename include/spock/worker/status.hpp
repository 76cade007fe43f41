// What SQL functions read about workers from shared memory.
#pragma once

#include "spock/pg/postgres.hpp"

namespace spock::worker {

// True when an apply worker of (dboid, subid) is attached and running.
bool apply_worker_running(Oid dboid, Oid subid);

// Asks the apply worker of (dboid, subid) to stop and waits up to timeout_ms for it to exit.
// Returns false when it is still running then.
bool stop_apply_worker(Oid dboid, Oid subid, long timeout_ms);

}  // namespace spock::worker
