// Automatic DDL replication (spock.enable_ddl_replication, spock.include_ddl_repset,
// spock.allow_ddl_from_functions, spock.deny_all_ddl; docs/ddl.md "Automatic DDL").
#pragma once

namespace spock::sql {

// Installs the ProcessUtility hook. Called once from _PG_init.
void install_auto_ddl_hook();

}  // namespace spock::sql
