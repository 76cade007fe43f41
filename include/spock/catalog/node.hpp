// Rows of spock.node (reference §2). Every function here runs SQL through SPI, so the caller
// must be connected (pg::spi_connect).
#pragma once

#include <optional>
#include <string>

#include "spock/core/names.hpp"

namespace spock::catalog {

struct Node {
    core::NodeId id;
    std::string name;
};

std::optional<Node> find_node(const std::string& name);
std::optional<Node> find_node_by_id(core::NodeId id);
// Raises 42704 "node ... not found".
Node require_node(const std::string& name);

}  // namespace spock::catalog
