#include "spock/sql/catalog.hpp"

#include "spock/core/error.hpp"
#include "spock/core/text_array.hpp"

namespace spock::sql {

using pg::spi_query;
using pg::SqlRow;
using pg::SqlValue;

std::string to_text(std::uint32_t v) {
    return std::to_string(v);
}

std::uint32_t to_u32(const SqlValue& v) {
    if (!v) {
        throw core::Error(core::sqlstate::kInternalError, "unexpected NULL in spock catalog");
    }
    return static_cast<std::uint32_t>(std::stoul(*v));
}

bool to_bool(const SqlValue& v) {
    return v && *v == "t";
}

SqlValue array_or_null(const std::vector<std::string>& values) {
    if (values.empty()) {
        return std::nullopt;
    }
    std::vector<core::OptionalText> items(values.begin(), values.end());
    return core::to_array_literal(items);
}

std::vector<std::string> array_values(const SqlValue& literal) {
    std::vector<std::string> out;
    if (!literal) {
        return out;
    }
    for (auto& v : core::from_array_literal(*literal)) {
        if (v) {
            out.push_back(*v);
        }
    }
    return out;
}

namespace {

Node node_from(const SqlRow& r) {
    return Node{to_u32(r[0]), *r[1]};
}

Interface interface_from(const SqlRow& r) {
    return Interface{to_u32(r[0]), *r[1], to_u32(r[2]), *r[3]};
}

ReplicationSet set_from(const SqlRow& r) {
    return ReplicationSet{to_u32(r[0]),  to_u32(r[1]),  *r[2],        to_bool(r[3]),
                          to_bool(r[4]), to_bool(r[5]), to_bool(r[6])};
}

Subscription sub_from(const SqlRow& r) {
    return Subscription{
        to_u32(r[0]), *r[1],         to_u32(r[2]), to_u32(r[3]),       to_u32(r[4]),
        to_u32(r[5]), to_bool(r[6]), *r[7],        array_values(r[8]), array_values(r[9])};
}

constexpr const char* kSetColumns =
    "SELECT set_id, set_nodeid, set_name, replicate_insert, replicate_update, "
    "replicate_delete, replicate_truncate FROM spock.replication_set ";

constexpr const char* kSubColumns =
    "SELECT sub_id, sub_name, sub_origin, sub_target, sub_origin_if, sub_target_if, "
    "sub_enabled, sub_slot_name, sub_replication_sets, sub_forward_origins "
    "FROM spock.subscription ";

}  // namespace

std::optional<LocalNode> find_local_node() {
    auto rows = spi_query(
        "SELECT n.node_id, n.node_name, i.if_id, i.if_name, i.if_nodeid, i.if_dsn "
        "FROM spock.local_node l JOIN spock.node n ON n.node_id = l.node_id "
        "JOIN spock.node_interface i ON i.if_id = l.node_local_interface");
    if (rows.empty()) {
        return std::nullopt;
    }
    const SqlRow& r = rows[0];
    return LocalNode{Node{to_u32(r[0]), *r[1]},
                     Interface{to_u32(r[2]), *r[3], to_u32(r[4]), *r[5]}};
}

LocalNode require_local_node() {
    auto local = find_local_node();
    if (!local) {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "current database is not configured as spock node", {},
                          "Create the local node first with spock.node_create().");
    }
    return *local;
}

std::optional<Node> find_node(const std::string& name) {
    auto rows =
        spi_query("SELECT node_id, node_name FROM spock.node WHERE node_name = $1::name", {name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return node_from(rows[0]);
}

std::optional<Node> find_node_by_id(core::NodeId id) {
    auto rows = spi_query("SELECT node_id, node_name FROM spock.node WHERE node_id = $1::oid",
                          {to_text(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return node_from(rows[0]);
}

Node require_node(const std::string& name) {
    auto node = find_node(name);
    if (!node) {
        throw core::Error(core::sqlstate::kUndefinedObject, "node \"" + name + "\" not found");
    }
    return *node;
}

std::optional<Interface> find_interface(core::NodeId node, const std::string& name) {
    auto rows = spi_query(
        "SELECT if_id, if_name, if_nodeid, if_dsn FROM spock.node_interface "
        "WHERE if_nodeid = $1::oid AND if_name = $2::name",
        {to_text(node), name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return interface_from(rows[0]);
}

std::optional<Interface> find_interface_by_id(core::InterfaceId id) {
    auto rows = spi_query(
        "SELECT if_id, if_name, if_nodeid, if_dsn FROM spock.node_interface WHERE if_id = $1::oid",
        {to_text(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return interface_from(rows[0]);
}

std::optional<ReplicationSet> find_replication_set(core::NodeId node, const std::string& name) {
    std::string sql =
        std::string(kSetColumns) + "WHERE set_nodeid = $1::oid AND set_name = $2::name";
    auto rows = spi_query(sql.c_str(), {to_text(node), name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return set_from(rows[0]);
}

ReplicationSet require_replication_set(core::NodeId node, const std::string& name) {
    auto set = find_replication_set(node, name);
    if (!set) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "replication set \"" + name + "\" not found", {},
                          "Create it with spock.repset_create().");
    }
    return *set;
}

std::optional<Subscription> find_subscription(const std::string& name) {
    std::string sql = std::string(kSubColumns) + "WHERE sub_name = $1::name";
    auto rows = spi_query(sql.c_str(), {name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return sub_from(rows[0]);
}

Subscription require_subscription(const std::string& name) {
    auto sub = find_subscription(name);
    if (!sub) {
        throw core::Error(core::sqlstate::kUndefinedObject,
                          "subscription \"" + name + "\" not found");
    }
    return *sub;
}

}  // namespace spock::sql
