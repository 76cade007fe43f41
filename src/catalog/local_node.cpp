#include "spock/catalog/local_node.hpp"

#include "spock/catalog/values.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

std::optional<LocalNode> find_local_node() {
    auto rows = pg::spi_query(
        "SELECT n.node_id, n.node_name, i.if_id, i.if_name, i.if_nodeid, i.if_dsn "
        "FROM spock.local_node l JOIN spock.node n ON n.node_id = l.node_id "
        "JOIN spock.node_interface i ON i.if_id = l.node_local_interface");
    if (rows.empty()) {
        return std::nullopt;
    }
    const pg::SqlRow& r = rows[0];
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

}  // namespace spock::catalog
