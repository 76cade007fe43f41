// Streaming of large in-progress transactions (docs/protocol.md, "Streamed transactions").
//
// PostgreSQL calls the stream_* callbacks for a transaction whose decoded changes exceed
// logical_decoding_work_mem, when the plugin left ctx->streaming on: startup leaves it on only
// for a subscriber that sent spock.stream_in_progress, so a Spock peer never sees a stream
// message. The change, truncate and message callbacks are the ordinary ones (plugin.cpp), with
// the same filters; inside a stream block (PluginState::in_stream) they open the block with
// STREAM START instead of BEGIN and say which (sub)transaction each change belongs to.
//
// RELATION messages. A stream is applied by the subscriber only at its commit, from its spool,
// so a RELATION message sent in a stream describes the relation for that transaction only:
// which relations a stream has described is kept per streamed xid (RelEntry::streamed_xids),
// apart from RelEntry::meta_sent for transactions sent whole. At a stream commit the
// subscriber's description becomes the stream's, so meta_sent is cleared for those relations
// and a later transaction sends its own again; at an abort nothing changed on the subscriber.
// A subtransaction abort may cut a RELATION message out of the subscriber's spool, so the
// stream forgets all it described and describes again.
//
// Plain glue: no C++ objects with destructors across PostgreSQL calls.
#pragma once

#include "spock/output/plugin_state.hpp"

extern "C" {
#include <replication/logical.h>
#include <replication/output_plugin.h>
#include <replication/reorderbuffer.h>
}

namespace spock::output {

// Whether a change of the transaction being sent needs the RELATION message first.
bool relation_needs_sending(PluginState* st, RelEntry* e);
// The RELATION message of e went out for the transaction being sent.
void note_relation_sent(PluginState* st, RelEntry* e);

// Inside a stream block: sends STREAM START if the block has sent nothing yet, then STREAM XID
// when the next change belongs to another (sub)transaction than the last one.
void ensure_stream_block(LogicalDecodingContext* ctx, PluginState* st, TransactionId xid);

// Sets the stream_* callbacks (stream_prepare_cb stays unset: no two-phase decoding).
void install_stream_callbacks(OutputPluginCallbacks* cb);

}  // namespace spock::output
