// spock.local_node (reference §2): which node this database is, and its local interface. Every
// function here runs SQL through SPI, so the caller must be connected (pg::spi_connect).
#pragma once

#include <optional>

#include "spock/catalog/interface.hpp"
#include "spock/catalog/node.hpp"

namespace spock::catalog {

struct LocalNode {
    Node node;
    Interface interface;
};

std::optional<LocalNode> find_local_node();
// Raises 55000 "current database is not configured as spock node".
LocalNode require_local_node();

}  // namespace spock::catalog
