// Takes a detached partition out of the replication sets it was in as part of its parent
// (docs/replication.md, "Partitions").
#pragma once

namespace spock::sql {

// Installs the ProcessUtility hook. Called once from _PG_init.
void install_partition_detach_hook();

}  // namespace spock::sql
