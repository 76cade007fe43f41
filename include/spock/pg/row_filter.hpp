// Row filters of replication sets (reference §10.4).
#pragma once

#include <string>

#include "spock/pg/postgres.hpp"

namespace spock::pg {

// Parses `filter` as a boolean expression over the columns of relation `relid`, with the rules
// of a CHECK constraint (no subqueries, aggregates, window or set-returning functions, no other
// table), and returns its node tree as text for replication_set_table.set_row_filter. Invalid
// input raises the parser's error (a C++ exception carrying its SQLSTATE).
std::string compile_row_filter(Oid relid, const std::string& filter);

}  // namespace spock::pg
