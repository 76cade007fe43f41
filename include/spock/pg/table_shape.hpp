// The columns of a table as core::ColumnShape values (name, type, NOT NULL; attnum order, dropped
// columns left out), read from the system caches without locking the table: automatic DDL takes
// a fingerprint of a table before a statement changes it, and the apply worker compares it with
// its own table before running the queued statement (docs/ddl.md).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/core/auto_ddl.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::pg {

// The table's columns; none when `relid` is no longer a relation.
std::optional<std::vector<core::ColumnShape>> table_shape(Oid relid);

// The same for schema.name, after locking it in `lockmode` (NoLock for none): a lock that
// conflicts with ALTER TABLE's waits for a concurrent ALTER and then sees its result. None when
// there is no such relation.
std::optional<std::vector<core::ColumnShape>> table_shape(const std::string& nspname,
                                                          const std::string& relname, int lockmode);

}  // namespace spock::pg
