// Remembers local TRUNCATEs in spock.truncate_horizon (docs/conflicts.md, "TRUNCATE in a mesh").
#pragma once

namespace spock::sql {

// Installs the ProcessUtility hook. Called once from _PG_init.
void install_truncate_capture();

}  // namespace spock::sql
