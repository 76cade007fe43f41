// Rows of spock.subscription (reference §2). Every function here runs SQL through SPI, so the
// caller must be connected (pg::spi_connect).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/core/names.hpp"

namespace spock::catalog {

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

std::optional<Subscription> find_subscription(const std::string& name);
// Raises 42704 "subscription ... not found".
Subscription require_subscription(const std::string& name);

}  // namespace spock::catalog
