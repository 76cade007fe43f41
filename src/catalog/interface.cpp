#include "spock/catalog/interface.hpp"

#include "spock/catalog/values.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

namespace {

Interface interface_from(const pg::SqlRow& r) {
    return Interface{to_u32(r[0]), *r[1], to_u32(r[2]), *r[3]};
}

}  // namespace

std::optional<Interface> find_interface(core::NodeId node, const std::string& name) {
    auto rows = pg::spi_query(
        "SELECT if_id, if_name, if_nodeid, if_dsn FROM spock.node_interface "
        "WHERE if_nodeid = $1::oid AND if_name = $2::name",
        {to_text(node), name});
    if (rows.empty()) {
        return std::nullopt;
    }
    return interface_from(rows[0]);
}

std::optional<Interface> find_interface_by_id(core::InterfaceId id) {
    auto rows = pg::spi_query(
        "SELECT if_id, if_name, if_nodeid, if_dsn FROM spock.node_interface WHERE if_id = $1::oid",
        {to_text(id)});
    if (rows.empty()) {
        return std::nullopt;
    }
    return interface_from(rows[0]);
}

}  // namespace spock::catalog
