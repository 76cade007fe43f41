// Writing native-protocol messages (reference §5.3) from decoded changes into the decoding
// context's output, one CopyData per message. Plain glue: these functions hold no C++ objects
// with destructors (they encode into the session's buffer), so PostgreSQL errors may pass.
#pragma once

#include "spock/output/plugin_state.hpp"

extern "C" {
#include <replication/logical.h>
#include <replication/reorderbuffer.h>
}

namespace spock::output {

// Sends the buffer as one CopyData message.
void flush_message(LogicalDecodingContext* ctx, PluginState* st, bool last);

void write_startup(LogicalDecodingContext* ctx, PluginState* st, bool last);
void write_begin(LogicalDecodingContext* ctx, PluginState* st, ReorderBufferTXN* txn);
void write_relation(LogicalDecodingContext* ctx, PluginState* st, Relation rel, RelEntry* e);
void write_change(LogicalDecodingContext* ctx, PluginState* st, Relation rel, RelEntry* e,
                  ReorderBufferChange* change);
void write_truncate(LogicalDecodingContext* ctx, PluginState* st, int nrelids, const Oid* relids,
                    bool cascade, bool restart_identity);
void write_logical_message(LogicalDecodingContext* ctx, PluginState* st, TransactionId xid,
                           XLogRecPtr lsn, bool transactional, const char* prefix, Size size,
                           const char* payload);
void write_commit(LogicalDecodingContext* ctx, PluginState* st, ReorderBufferTXN* txn,
                  XLogRecPtr commit_lsn);

// The spock node id to send in ORIGIN for a transaction with this replication origin.
Oid origin_node_id(PluginState* st, RepOriginId origin);

}  // namespace spock::output
