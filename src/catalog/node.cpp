#include "spock/catalog/node.hpp"

#include "spock/catalog/values.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

namespace {

Node node_from(const pg::SqlRow& r) {
    return Node{to_u32(r[0]), *r[1]};
}

}  // namespace

std::optional<Node> find_node(const std::string& name) {
    auto rows = pg::spi_query(
        "SELECT node_id, node_name FROM spock.node WHERE node_name = $1::name", {name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return node_from(rows[0]);
}

std::optional<Node> find_node_by_id(core::NodeId id) {
    auto rows = pg::spi_query("SELECT node_id, node_name FROM spock.node WHERE node_id = $1::oid",
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

}  // namespace spock::catalog
