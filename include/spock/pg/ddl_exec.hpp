// Parsing and running replicated DDL (spock.replicate_ddl on the origin, queued 'Q'/'D'
// messages on subscribers; docs/ddl.md, docs/security.md).
#pragma once

#include <string>
#include <vector>

#include "spock/core/ddl_rules.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::pg {

// Each statement of `command` as the raw parser sees it (a syntax error is raised as is).
std::vector<core::ClassifiedStatement> classify_statements(const std::string& command);

// The role's OID. Raises 42704 naming `what` when no such role exists here.
Oid ddl_role_oid(const std::string& role, const char* what);

// Runs `sql` (one or more statements, e.g. "SET search_path TO ...; <DDL>") as `roleid`, with
// SET ROLE semantics (SetUserIdAndSecContext with SECURITY_LOCAL_USERID_CHANGE: no SET ROLE or
// SESSION AUTHORIZATION inside, no SECURITY_RESTRICTED_OPERATION), inside the current
// transaction. Settings changed by `sql` (search_path) are rolled back afterwards. Errors are
// raised as PgError; the user and settings are then restored by the (sub)transaction abort.
void execute_ddl_as(Oid roleid, const std::string& sql);

// Whether execute_ddl_as() is running statements now (replicate_ddl's own statement, or queued
// DDL applied here): automatic DDL never queues those again.
bool running_replicated_ddl() noexcept;

// What one parsed statement is, as classify_statements() says (plain glue, no errors).
core::StatementClass classify_parsed(Node* stmt);

}  // namespace spock::pg
