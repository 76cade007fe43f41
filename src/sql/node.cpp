// Node management (reference §3.1): node_create, node_drop, node_add_interface,
// node_drop_interface, node_info.
#include "spock/catalog/interface.hpp"
#include "spock/catalog/local_node.hpp"
#include "spock/catalog/node.hpp"
#include "spock/catalog/values.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/fmgr_args.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/settings_check.hpp"
#include "spock/pg/spi.hpp"
#include "spock/worker/notify.hpp"

extern "C" {
#include <access/xlog.h>
#include <catalog/pg_type.h>
#include <commands/dbcommands.h>
#include <miscadmin.h>
}

using namespace spock;
using catalog::to_text;
using pg::spi_exec;
using pg::spi_query;
using pg::SqlValue;

namespace {

// The three replication sets every node starts with (reference §3.1).
struct DefaultSet {
    const char* name;
    bool insert, update, del, truncate;
};
constexpr DefaultSet kDefaultSets[] = {
    {"default", true, true, true, true},
    {"default_insert_only", true, false, false, true},
    {"ddl_sql", true, false, false, false},
};

void require_nonempty(const std::string& value, const char* argname) {
    if (value.empty()) {
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          std::string(argname) + " must not be empty");
    }
}

void insert_interface(core::NodeId node, const std::string& name, const std::string& dsn) {
    core::InterfaceId id = core::interface_id(node, name);
    auto clash = catalog::find_interface_by_id(id);
    if (clash) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "interface id " + to_text(id) + " of \"" + name +
                              "\" collides with interface \"" + clash->name + "\"",
                          {}, "Choose another interface name.");
    }
    spi_exec(
        "INSERT INTO spock.node_interface (if_id, if_name, if_nodeid, if_dsn) "
        "VALUES ($1::oid, $2::name, $3::oid, $4)",
        {to_text(id), name, to_text(node), dsn});
}

void insert_replication_set(core::NodeId node, const DefaultSet& set) {
    auto b = [](bool v) -> SqlValue { return std::string(v ? "t" : "f"); };
    spi_exec(
        "INSERT INTO spock.replication_set (set_id, set_nodeid, set_name, replicate_insert, "
        "replicate_update, replicate_delete, replicate_truncate) "
        "VALUES ($1::oid, $2::oid, $3::name, $4::bool, $5::bool, $6::bool, $7::bool)",
        {to_text(core::set_id(node, set.name)), to_text(node), std::string(set.name), b(set.insert),
         b(set.update), b(set.del), b(set.truncate)});
}

}  // namespace

namespace spock::sql {

// Creates a node row and its default interface, for the local node and for providers that
// sub_create learns about. Raises 42710 on a duplicate name or an id collision.
core::NodeId create_node_row(const std::string& name, const std::string& dsn,
                             const SqlValue& location, const SqlValue& country,
                             const SqlValue& info) {
    if (catalog::find_node(name)) {
        throw core::Error(core::sqlstate::kDuplicateObject, "node \"" + name + "\" already exists");
    }
    core::NodeId id = core::node_id(name);
    if (id == 0) {
        // 0 is InvalidRepOriginId: it cannot stand for a node in WAL.
        throw core::Error(core::sqlstate::kInvalidParameterValue,
                          "node name \"" + name + "\" hashes to the invalid node id 0", {},
                          "Choose another node name.");
    }
    if (auto clash = catalog::find_node_by_id(id)) {
        throw core::Error(core::sqlstate::kDuplicateObject,
                          "node id " + to_text(id) + " of \"" + name +
                              "\" collides with existing node \"" + clash->name + "\"",
                          "Node ids are 16-bit hashes of node names.", "Choose another node name.");
    }
    spi_exec(
        "INSERT INTO spock.node (node_id, node_name, location, country, info) "
        "VALUES ($1::oid, $2::name, $3, $4, $5::jsonb)",
        {to_text(id), name, location, country, info});
    insert_interface(id, name, dsn);
    return id;
}

// Removes a node with its interfaces and replication sets (and their memberships).
void delete_node_rows(core::NodeId id) {
    std::string node = to_text(id);
    spi_exec(
        "DELETE FROM spock.depend WHERE classid = 'spock.replication_set_table'::regclass "
        "AND objid IN (SELECT set_id FROM spock.replication_set WHERE set_nodeid = $1::oid)",
        {node});
    spi_exec(
        "DELETE FROM spock.replication_set_table WHERE set_id IN "
        "(SELECT set_id FROM spock.replication_set WHERE set_nodeid = $1::oid)",
        {node});
    spi_exec(
        "DELETE FROM spock.replication_set_partition_exclusion WHERE set_id IN "
        "(SELECT set_id FROM spock.replication_set WHERE set_nodeid = $1::oid)",
        {node});
    spi_exec(
        "DELETE FROM spock.replication_set_seq WHERE set_id IN "
        "(SELECT set_id FROM spock.replication_set WHERE set_nodeid = $1::oid)",
        {node});
    spi_exec("DELETE FROM spock.replication_set WHERE set_nodeid = $1::oid", {node});
    spi_exec("DELETE FROM spock.node_interface WHERE if_nodeid = $1::oid", {node});
    spi_exec("DELETE FROM spock.node WHERE node_id = $1::oid", {node});
}

}  // namespace spock::sql

SPOCK_PG_FUNCTION(spock_node_create) {
    std::string name = pg::name_arg(fcinfo, 0, "node_name");
    std::string dsn = pg::text_arg(fcinfo, 1, "dsn");
    SqlValue location = pg::opt_text_arg(fcinfo, 2);
    SqlValue country = pg::opt_text_arg(fcinfo, 3);
    SqlValue info = pg::arg_as_text(fcinfo, 4, JSONBOID);
    require_nonempty(name, "node_name");
    pg::check_dsn(dsn, "dsn");
    pg::pg_call([] { pg::require_replication_settings(); });

    pg::spi_connect();
    // Serialises concurrent node_create calls in this database.
    spi_exec("LOCK TABLE spock.local_node IN EXCLUSIVE MODE");
    if (auto local = catalog::find_local_node()) {
        throw core::Error(
            core::sqlstate::kDuplicateObject,
            "current database is already configured as spock node \"" + local->node.name + "\"", {},
            "Drop it first with spock.node_drop() to create another.");
    }
    core::NodeId id = sql::create_node_row(name, dsn, location, country, info);
    for (const DefaultSet& set : kDefaultSets) {
        insert_replication_set(id, set);
    }
    spi_exec(
        "INSERT INTO spock.local_node (node_id, node_local_interface) "
        "VALUES ($1::oid, $2::oid)",
        {to_text(id), to_text(core::interface_id(id, name))});
    worker::notify_at_commit();
    pg::spi_finish();
    return ObjectIdGetDatum(id);
}

SPOCK_PG_FUNCTION(spock_node_drop) {
    std::string name = pg::name_arg(fcinfo, 0, "node_name");
    bool ifexists = pg::bool_arg(fcinfo, 1, "ifexists");

    pg::spi_connect();
    // Serialises with node_create, which takes the same lock to check for a local node.
    spi_exec("LOCK TABLE spock.local_node IN EXCLUSIVE MODE");
    auto node = catalog::find_node(name);
    if (!node) {
        if (!ifexists) {
            throw core::Error(core::sqlstate::kUndefinedObject, "node \"" + name + "\" not found",
                              {}, "Use ifexists := true to ignore a missing node.");
        }
        pg::spi_finish();
        PG_RETURN_BOOL(false);
    }
    auto users = spi_query(
        "SELECT sub_name FROM spock.subscription WHERE sub_origin = $1::oid OR "
        "sub_target = $1::oid ORDER BY sub_name",
        {to_text(node->id)});
    if (!users.empty()) {
        throw core::Error("2BP01",
                          "cannot drop node \"" + name + "\" because subscription \"" +
                              *users[0][0] + "\" uses it",
                          std::to_string(users.size()) + " subscription(s) refer to this node.",
                          "Drop the subscriptions first with spock.sub_drop().");
    }
    auto local = catalog::find_local_node();
    bool is_local = local && local->node.id == node->id;
    if (is_local) {
        spi_exec("DELETE FROM spock.local_node");
    }
    worker::notify_at_commit();
    sql::delete_node_rows(node->id);
    if (is_local) {
        // The local node's logical slots serve its subscribers; they go with it. Dropping a
        // slot cannot be rolled back, so it comes after every catalog change that could fail.
        spi_query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
            "WHERE database = current_database() AND plugin IN ('spock_output', 'spock') "
            "AND slot_name ~ '^spk_'");
    }
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_node_add_interface) {
    std::string node_name = pg::name_arg(fcinfo, 0, "node_name");
    std::string if_name = pg::name_arg(fcinfo, 1, "interface_name");
    std::string dsn = pg::text_arg(fcinfo, 2, "dsn");
    require_nonempty(if_name, "interface_name");
    pg::check_dsn(dsn, "dsn");

    pg::spi_connect();
    catalog::Node node = catalog::require_node(node_name);
    if (catalog::find_interface(node.id, if_name)) {
        throw core::Error(
            core::sqlstate::kDuplicateObject,
            "node \"" + node_name + "\" already has an interface named \"" + if_name + "\"");
    }
    insert_interface(node.id, if_name, dsn);
    pg::spi_finish();
    return ObjectIdGetDatum(core::interface_id(node.id, if_name));
}

SPOCK_PG_FUNCTION(spock_node_drop_interface) {
    std::string node_name = pg::name_arg(fcinfo, 0, "node_name");
    std::string if_name = pg::name_arg(fcinfo, 1, "interface_name");

    pg::spi_connect();
    catalog::Node node = catalog::require_node(node_name);
    auto iface = catalog::find_interface(node.id, if_name);
    if (!iface) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "interface \"" + if_name + "\" of node \"" + node_name + "\" not found");
    }
    auto users = spi_query(
        "SELECT sub_name FROM spock.subscription WHERE sub_origin_if = $1::oid OR "
        "sub_target_if = $1::oid ORDER BY sub_name",
        {to_text(iface->id)});
    if (!users.empty()) {
        throw core::Error("2BP01",
                          "cannot drop interface \"" + if_name + "\" because subscription \"" +
                              *users[0][0] + "\" uses it",
                          {},
                          "Switch the subscription to another interface with "
                          "spock.sub_alter_interface() or drop it first.");
    }
    auto local = catalog::find_local_node();
    if (local && local->interface.id == iface->id) {
        throw core::Error("2BP01", "cannot drop interface \"" + if_name +
                                       "\" because it is the local node's interface");
    }
    spi_exec("DELETE FROM spock.node_interface WHERE if_id = $1::oid", {to_text(iface->id)});
    pg::spi_finish();
    PG_RETURN_BOOL(true);
}

SPOCK_PG_FUNCTION(spock_node_info) {
    pg::spi_connect();
    catalog::LocalNode local = catalog::require_local_node();
    auto rows = spi_query(
        "SELECT n.node_id, n.node_name, NULL, current_database(), "
        "(SELECT string_agg(quote_ident(set_name), ',' ORDER BY set_name) "
        "   FROM spock.replication_set WHERE set_nodeid = n.node_id), "
        "n.location, n.country, n.info "
        "FROM spock.node n WHERE n.node_id = $1::oid",
        {to_text(local.node.id)});
    pg::spi_finish();
    pg::SqlRow row = rows.at(0);
    row[2] = std::to_string(pg::pg_call([] { return GetSystemIdentifier(); }));
    return pg::record_result(fcinfo, row);
}
