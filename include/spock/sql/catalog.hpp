// Reading spock's own catalog tables (reference §2) for the SQL API. Every function here runs
// SQL through SPI, so the caller must be connected (spi_connect). Lookups that the API needs to
// succeed come in require_* form and raise the error a DBA expects (42704, 55000).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/core/names.hpp"
#include "spock/pg/spi.hpp"

namespace spock::sql {

struct Node {
    core::NodeId id;
    std::string name;
};

struct Interface {
    core::InterfaceId id;
    std::string name;
    core::NodeId node_id;
    std::string dsn;
};

struct LocalNode {
    Node node;
    Interface interface;
};

struct ReplicationSet {
    core::SetId id;
    core::NodeId node_id;
    std::string name;
    bool replicate_insert;
    bool replicate_update;
    bool replicate_delete;
    bool replicate_truncate;
};

struct Subscription {
    core::SubscriptionId id;
    std::string name;
    core::NodeId origin;
    core::NodeId target;
    core::InterfaceId origin_if;
    core::InterfaceId target_if;
    bool enabled;
    std::string slot_name;
    std::vector<std::string> replication_sets;
    std::vector<std::string> forward_origins;
};

std::optional<LocalNode> find_local_node();
// Raises 55000 "current database is not configured as spock node".
LocalNode require_local_node();

std::optional<Node> find_node(const std::string& name);
std::optional<Node> find_node_by_id(core::NodeId id);
// Raises 42704 "node ... not found".
Node require_node(const std::string& name);

std::optional<Interface> find_interface(core::NodeId node, const std::string& name);
std::optional<Interface> find_interface_by_id(core::InterfaceId id);

std::optional<ReplicationSet> find_replication_set(core::NodeId node, const std::string& name);
// Raises 42704 "replication set ... not found".
ReplicationSet require_replication_set(core::NodeId node, const std::string& name);

std::optional<Subscription> find_subscription(const std::string& name);
// Raises 42704 "subscription ... not found".
Subscription require_subscription(const std::string& name);

// Text helpers for SPI parameters and results.
std::string to_text(std::uint32_t v);
std::uint32_t to_u32(const pg::SqlValue& v);
bool to_bool(const pg::SqlValue& v);
// NULL for an empty list, the way Spock stores empty arrays.
pg::SqlValue array_or_null(const std::vector<std::string>& values);
std::vector<std::string> array_values(const pg::SqlValue& literal);

}  // namespace spock::sql
