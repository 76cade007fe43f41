// Queue messages that reach this node twice in a mesh that forwards all origins: applied once,
// the repeat skipped with a LOG line and counted (core/queue_dedup.hpp, docs/ddl.md).
#pragma once

#include "spock/core/protocol.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Whether `msg`, an INSERT into the provider's spock.queue from a transaction of node
// `origin_node`, repeats a message an earlier local transaction applied here (a row with the
// same queued_at, role, message_type, replication_sets and message in the local spock.queue).
// If so, logs it and counts it for spock.schema_change_stats(); the caller then neither inserts
// the row nor acts on it. Needs the local transaction. Calls PostgreSQL only through pg_call and
// the SPI helpers.
bool skip_repeated_queue_message(uint32 origin_node, const core::Insert& msg);

}  // namespace spock::apply
