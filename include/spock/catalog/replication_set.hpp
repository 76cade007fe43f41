// Rows of spock.replication_set (reference §2). Every function here runs SQL through SPI, so the
// caller must be connected (pg::spi_connect).
#pragma once

#include <optional>
#include <string>

#include "spock/core/names.hpp"

namespace spock::catalog {

struct ReplicationSet {
    core::SetId id;
    core::NodeId node_id;
    std::string name;
    bool replicate_insert;
    bool replicate_update;
    bool replicate_delete;
    bool replicate_truncate;
};

std::optional<ReplicationSet> find_replication_set(core::NodeId node, const std::string& name);
// Raises 42704 "replication set ... not found".
ReplicationSet require_replication_set(core::NodeId node, const std::string& name);

}  // namespace spock::catalog
