#include "spock/catalog/replication_set.hpp"

#include "spock/catalog/values.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

namespace {

ReplicationSet set_from(const pg::SqlRow& r) {
    return ReplicationSet{to_u32(r[0]),  to_u32(r[1]),  *r[2],        to_bool(r[3]),
                          to_bool(r[4]), to_bool(r[5]), to_bool(r[6])};
}

constexpr const char* kSetColumns =
    "SELECT set_id, set_nodeid, set_name, replicate_insert, replicate_update, "
    "replicate_delete, replicate_truncate FROM spock.replication_set ";

}  // namespace

std::optional<ReplicationSet> find_replication_set(core::NodeId node, const std::string& name) {
    std::string sql =
        std::string(kSetColumns) + "WHERE set_nodeid = $1::oid AND set_name = $2::name";
    auto rows = pg::spi_query(sql.c_str(), {to_text(node), name});
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

}  // namespace spock::catalog
