// spock.replicate_ddl(command, replication_sets, search_path, role) (reference §3.4, §10.5;
// docs/ddl.md). The text[] overload is SQL and calls this once per element.
//
// Order: the command is parsed and classified first (one DDL statement that can run in a
// transaction block, else an ERROR before anything happens); then the sets, the search_path
// and the role are checked; then the message is queued in spock.queue (type 'Q', a JSON
// string "SET search_path TO ...; <command>", role and sets) and the same text runs here as
// the role. Both happen in the caller's transaction: a failure here queues nothing.
#include <string>
#include <vector>

#include "spock/core/ddl_rules.hpp"
#include "spock/core/names.hpp"
#include "spock/core/text_array.hpp"
#include "spock/pg/ddl_exec.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"

extern "C" {
#include <miscadmin.h>
#include <utils/acl.h>
}

using namespace spock;

namespace {

void check_sets(const std::vector<std::string>& sets) {
    pg::SqlValue node = pg::spi_value("SELECT node_id::text FROM spock.local_node");
    if (!node) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "spock.replicate_ddl() needs a local spock node",
                          "The command is queued for the subscribers of this node, and this "
                          "database has none.",
                          "Create one with spock.node_create().");
    }
    if (sets.empty()) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "spock.replicate_ddl() was given no replication set",
                          "Subscribers receive the command through the replication sets it names.",
                          "Pass at least one set, for example '{ddl_sql}'.");
    }
    for (const std::string& s : sets) {
        pg::SqlValue found = pg::spi_value(
            "SELECT 1 FROM spock.replication_set WHERE set_name = $1::name "
            "AND set_nodeid = $2::oid",
            {s, *node});
        if (!found) {
            throw core::Error(core::sqlstate::kUndefinedObject,
                              "replication set \"" + s + "\" does not exist",
                              "spock.replicate_ddl() queues the command for the subscribers of "
                              "the replication sets it names.",
                              "See spock.replication_set for the sets of this node.");
        }
    }
}

}  // namespace

SPOCK_PG_FUNCTION(spock_replicate_ddl) {
    std::string command = pg::text_arg(fcinfo, 0, "command");
    std::vector<std::string> sets = pg::text_array_arg(fcinfo, 1, "replication_sets");
    std::string search_path = pg::text_arg(fcinfo, 2, "search_path");
    std::string role = pg::text_arg(fcinfo, 3, "role");

    std::vector<core::ClassifiedStatement> stmts = pg::classify_statements(command);
    if (std::optional<core::Error> e = core::check_ddl_statements(stmts)) {
        throw *e;
    }
    std::vector<std::string> path = core::split_identifier_list(search_path);

    Oid roleid = pg::ddl_role_oid(role, "replicated command");
    bool member = pg::pg_call([roleid] { return is_member_of_role(GetUserId(), roleid); });
    if (!member) {
        throw core::Error(core::sqlstate::kInsufficientPrivilege,
                          "permission denied to run DDL as role \"" + role + "\"",
                          "spock.replicate_ddl() runs the command as the given role, here and "
                          "on every subscriber.",
                          "Name a role you are a member of (SET ROLE rules).");
    }

    std::string text = core::queued_ddl_text(path, command);
    std::string sets_literal =
        core::to_array_literal(std::vector<core::OptionalText>(sets.begin(), sets.end()));
    pg::spi_connect();
    check_sets(sets);
    pg::spi_exec(
        "INSERT INTO spock.queue (queued_at, role, replication_sets, message_type, message) "
        "VALUES (pg_catalog.now(), $1::name, $2::text[], 'Q', pg_catalog.to_json($3::text))",
        {role, sets_literal, text});
    pg::spi_finish();

    pg::execute_ddl_as(roleid, text);
    return BoolGetDatum(true);
}
