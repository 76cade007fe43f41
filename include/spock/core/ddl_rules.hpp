// Pure decisions of DDL replication (spock.replicate_ddl, docs/ddl.md) and of schema changes
// rolled out by hand: which statements replicate_ddl accepts, the text it queues, what apply
// does with a remote column the local table lacks, and how a RELATION message changed.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "spock/core/error.hpp"

namespace spock::core {

// What the raw parser says one statement of a replicate_ddl() command is.
enum class StatementClass {
    Ddl,                 // GetCommandLogLevel() == LOGSTMT_DDL and runs in a transaction block
    TransactionControl,  // BEGIN, COMMIT, ROLLBACK, SAVEPOINT, PREPARE TRANSACTION ...
    NotInTransaction,    // cannot run inside a transaction block (VACUUM, CREATE DATABASE,
                         // CREATE INDEX CONCURRENTLY, ...)
    NotDdl,              // SELECT, INSERT, SET, ... (not a schema change)
};

struct ClassifiedStatement {
    StatementClass cls;
    std::string tag;  // the command tag, e.g. "CREATE TABLE"
};

// The error replicate_ddl() raises for the parsed command, or nothing when it may run and be
// queued: exactly one statement, a DDL statement that can run in a transaction block.
std::optional<Error> check_ddl_statements(std::span<const ClassifiedStatement> stmts);

// The text queued for subscribers (Spock's format): "SET search_path TO a, \"B\"; <command>",
// or "SET search_path TO ''; <command>" for an empty path. The path items are given as
// split_identifier_list() returns them (unquoted); "$user" stays a quoted item.
std::string queued_ddl_text(std::span<const std::string> search_path, std::string_view command);

// ----- columns the local table does not have ------------------------------------------------

// spock.missing_column_action: what a non-NULL value for a column the local table does not have
// does. A NULL (or unchanged TOAST) value for such a column is always ignored and counted.
enum class MissingColumnPolicy { Ignore, Error };

enum class MissingColumnAction {
    IgnoreNull,       // the value is NULL: nothing is lost, counted
    DropValueLogged,  // non-NULL value dropped: counted and logged (rate-limited)
    Error,            // the change fails: exception handling (spock.exception_behaviour)
};

MissingColumnAction missing_column_action(bool value_is_null, MissingColumnPolicy policy);

// How the columns of a remote relation changed between two RELATION messages (by name, in the
// order of the new / old message).
struct ColumnDiff {
    std::vector<std::string> added;
    std::vector<std::string> removed;
    bool changed() const { return !added.empty() || !removed.empty(); }
};

ColumnDiff diff_columns(std::span<const std::string> before, std::span<const std::string> after);

// "a, b" for messages, "(none)" for an empty list.
std::string column_list_text(std::span<const std::string> names);

}  // namespace spock::core
