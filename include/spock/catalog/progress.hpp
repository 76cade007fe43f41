// Rows of spock.progress (reference §6.10): how far this node has applied each other node's
// changes. The replication origins (origins.hpp) are the crash-safe record; these rows are for
// people and tools, and for a new node copying them from its provider. Every function here runs
// SQL through SPI (the caller is connected), except read_progress_of_others, which asks the
// provider over its connection.
#pragma once

#include <string>
#include <vector>

#include "spock/core/lsn.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/spi.hpp"

namespace spock::catalog {

// The row of a new subscription to `provider`, at 0/0, unless there is one already.
void create_progress(core::NodeId local, core::NodeId provider);

// After applied commits or a keepalive: the row moves forward (never back) to `lsn` and
// `insert_lsn`; `commit_ts` (timestamptz text) replaces the commit time unless it is empty.
void advance_progress(core::NodeId local, core::NodeId provider, const std::string& commit_ts,
                      core::Lsn lsn, core::Lsn insert_lsn, bool by_decode);

// The provider's rows for the nodes other than itself and `local`, as of the connection's
// snapshot, in the column order store_progress takes.
std::vector<pg::SqlRow> read_progress_of_others(pg::RemoteConnection& conn, core::NodeId provider,
                                                core::NodeId local);

// Stores one row from read_progress_of_others as this node's progress for that node,
// replacing the row there was.
void store_progress(core::NodeId local, const pg::SqlRow& provider_row);

}  // namespace spock::catalog
