// Per-table resynchronisation (reference §7.3) for the apply worker: copies one table again
// between remote transactions, in the snapshot of a temporary provider slot. The design is
// described in src/sync/table_resync.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "spock/core/lsn.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::sync {

struct TableResyncRequest {
    Oid subscription_id = InvalidOid;
    std::string subscription_name;
    std::string slot_name;
    std::string provider_dsn;
    std::vector<std::string> replication_sets;
    std::vector<std::string> skip_schemas;
    std::string nspname;
    std::string relname;
    // Called before the local copy transaction starts: the caller sets up the replication
    // origin session the copy is committed under (so it is not replicated onward).
    std::function<void()> before_copy;
};

// TRUNCATE + COPY + status 'y' at the temporary slot's consistent point L, in one local
// transaction stamped with the epoch as commit time. Returns L, or kInvalidLsn when the
// provider no longer publishes the table (its status row is then removed, with a WARNING).
// Between remote transactions only (no local transaction open).
core::Lsn resync_table(const TableResyncRequest& request);

}  // namespace spock::sync
