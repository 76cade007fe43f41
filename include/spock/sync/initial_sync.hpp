// Initial synchronisation of a subscription (reference §7.1): structure with pg_dump and
// pg_restore of the provider's server version, data with COPY, both consistent with the
// snapshot exported when the subscription's slot is created, so that streaming from the slot
// neither misses nor repeats a change.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "spock/core/lsn.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::sync {

struct SyncRequest {
    Oid subscription_id = InvalidOid;
    std::string subscription_name;
    std::string slot_name;     // also the name of the local replication origin
    std::string provider_dsn;  // the subscription's origin interface
    std::string local_dsn;     // the local node's interface, for pg_restore
    std::uint32_t provider_node_id = 0;
    std::uint32_t local_node_id = 0;
    std::vector<std::string> replication_sets;
    std::vector<std::string> skip_schemas;
    bool structure = false;
    bool data = false;
    // Called, outside any transaction, as each step begins, with the subscription-level status
    // Spock records for it (§7.2): 's' structure, 'd' data, 'c' constraints. Optional.
    std::function<void(char status)> on_status;
};

// Creates the slot on the provider (exporting a snapshot; a leftover slot of the same name
// from a failed attempt is dropped first), copies structure and/or data as asked, and returns
// the slot's consistent point: the LSN streaming must start from. The caller sets the
// subscription's origin to it and marks the subscription ready, in one transaction.
//
// Runs in a background worker connected to the subscriber database, outside any transaction
// (raises 25001 otherwise), before the worker sets up its replication origin session: the data
// step stamps the copied rows with the origin named slot_name (created when missing) for the
// duration of its one transaction, so they are not sent back to the provider. All data is
// copied in that one transaction, so a failed data step leaves no rows behind.
core::Lsn synchronize_subscription(const SyncRequest& request);

// Reads subscription `name` and its nodes and interfaces from the local catalog into a
// request for the given steps. Needs a transaction; connects to SPI itself.
SyncRequest sync_request_for(const std::string& name, bool structure, bool data);

}  // namespace spock::sync
