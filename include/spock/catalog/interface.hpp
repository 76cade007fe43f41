// Rows of spock.node_interface (reference §2): how other nodes reach a node. Every function here
// runs SQL through SPI, so the caller must be connected (pg::spi_connect).
#pragma once

#include <optional>
#include <string>

#include "spock/core/names.hpp"

namespace spock::catalog {

struct Interface {
    core::InterfaceId id;
    std::string name;
    core::NodeId node_id;
    std::string dsn;
};

std::optional<Interface> find_interface(core::NodeId node, const std::string& name);
std::optional<Interface> find_interface_by_id(core::InterfaceId id);

}  // namespace spock::catalog
