// The supervisor: one static background worker per cluster (reference §1.2).
#pragma once

namespace spock::worker {

// Registers the "spock supervisor" static background worker. Called from _PG_init.
void register_supervisor();

}  // namespace spock::worker
