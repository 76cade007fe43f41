// Data synchronisation (reference §7.1 step 6, §10.3, §10.4): the rows of the subscribed
// tables, as the provider's exported snapshot sees them, streamed from the provider's
// COPY ... TO STDOUT into the local table through PostgreSQL's own COPY FROM machinery.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spock/pg/remote.hpp"

namespace spock::sync {

// A table to copy, as the provider publishes it to the subscription.
struct ProviderTable {
    std::string nspname;
    std::string relname;
    std::vector<std::string> columns;      // the published columns (set column lists applied)
    char relkind = 'r';                    // 'p' for a partitioned table
    std::vector<std::string> row_filters;  // deparsed by the provider; a row must pass all
};

// Sets the session of a provider connection up for COPY: ISO dates, postgres intervals,
// exact floats, no statement or lock timeout, and the local database encoding.
void prepare_copy_session(pg::RemoteConnection& conn);

// BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY in the exported `snapshot`.
void begin_snapshot_transaction(pg::RemoteConnection& conn, const std::string& snapshot);

// The tables of `sets` on the provider (spock.tables and spock.repset_show_table), without
// those in `skip_schemas` or pgedge_ace, and without partitions whose partitioned ancestor is
// listed: the ancestor's copy routes their rows (§10.3).
std::vector<ProviderTable> list_provider_tables(pg::RemoteConnection& conn,
                                                const std::vector<std::string>& sets,
                                                const std::vector<std::string>& skip_schemas);

// Copies one table into the local table of the same name, in the current local transaction
// (which must have an active snapshot and an SPI connection). The columns copied are the
// published ones that exist locally and are not generated; the rows, those that pass every
// row filter. Returns the number of rows copied.
std::uint64_t copy_table(pg::RemoteConnection& conn, const ProviderTable& table);

}  // namespace spock::sync
