// Starting one of spock's dynamic background workers: the BackgroundWorker fields every one of
// them shares (shared memory and a database connection, started after recovery, never
// restarted by the postmaster, spock.so, notifying the starting process).
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <postmaster/bgworker.h>
}

namespace spock::pg {

// Registers a worker running spock.so's `function` (an exported extern "C" entry point), shown
// as `name` in pg_stat_activity and of backend type `type`, with `arg` as its main argument and
// up to BGW_EXTRALEN bytes of `extra`. Returns false when no background worker slot is free
// (max_worker_processes); *handle is set otherwise. A PostgreSQL call: may ereport.
bool start_dynamic_worker(const char* function, const char* name, const char* type, Datum arg,
                          const void* extra, Size extra_len, BackgroundWorkerHandle** handle);

}  // namespace spock::pg
