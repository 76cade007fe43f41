// The object-access hook that removes dropped relations from replication sets.
#pragma once

namespace spock::sql {

// Installs the hook. Called once from _PG_init.
void install_drop_hook();

}  // namespace spock::sql
