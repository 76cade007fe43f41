// WARNINGs for spock.* settings that look like a mistyped real one (docs/configuration.md,
// "Custom spock.* settings"). The spock. prefix is not reserved: placeholders are accepted.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <nodes/nodes.h>
}

namespace spock::pg {

// At _PG_init, after the settings are defined: a WARNING for each spock.* placeholder (from
// postgresql.conf or the command line) whose name is close to a real spock setting.
void warn_about_mistyped_placeholders();

// For SET / RESET / ALTER SYSTEM SET of a spock.* name that is not a real setting: a WARNING
// naming the closest real one when it is close. Called from the ProcessUtility hook; plain
// glue around a guarded body.
void check_setting_statement(Node* parsetree);

}  // namespace spock::pg
