#include "spock/catalog/subscription.hpp"

#include "spock/catalog/values.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

namespace {

Subscription sub_from(const pg::SqlRow& r) {
    return Subscription{
        to_u32(r[0]), *r[1],         to_u32(r[2]), to_u32(r[3]),       to_u32(r[4]),
        to_u32(r[5]), to_bool(r[6]), *r[7],        array_values(r[8]), array_values(r[9])};
}

constexpr const char* kSubColumns =
    "SELECT sub_id, sub_name, sub_origin, sub_target, sub_origin_if, sub_target_if, "
    "sub_enabled, sub_slot_name, sub_replication_sets, sub_forward_origins "
    "FROM spock.subscription ";

}  // namespace

std::optional<Subscription> find_subscription(const std::string& name) {
    std::string sql = std::string(kSubColumns) + "WHERE sub_name = $1::name";
    auto rows = pg::spi_query(sql.c_str(), {name});
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

}  // namespace spock::catalog
