// The per-decoding-session state of the spock_output plugin.
//
// The state is a C++ object (it owns the encode buffer) created in the startup callback. Its
// lifetime is tied to the decoding context's memory: a reset callback on that context deletes
// it, so it is released on every path, including an ERROR that never reaches the shutdown
// callback. Everything else it points to is palloc'd in that context.
#pragma once

#include <string>

#include "spock/catalog/decoding.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/xlogdefs.h>
#include <fmgr.h>
#include <utils/hsearch.h>
#include <utils/relcache.h>
}

struct LogicalDecodingContext;

namespace spock::output {

// Publication and wire format of one relation, cached for the session.
struct RelEntry {
    Oid relid;       // hash key
    bool valid;      // pub and formats loaded
    bool meta_sent;  // a RELATION message went out since the last invalidation
    // Streamed transactions (top-level xids, an oid List in the session context) whose stream
    // carries a RELATION message for this relation since the last invalidation; meta_sent
    // is about transactions sent whole and says nothing about these (streaming.hpp).
    List* streamed_xids;
    bool is_queue;        // spock.queue
    bool is_set_catalog;  // spock.replication_set, replication_set_table or the exclusions
    catalog::Publication pub;
    int natts;            // attributes of the tuple descriptor
    char* formats;        // per attribute: 'i', 'b', 't', or 0 when not sent
    FmgrInfo* out_funcs;  // typsend for 'b', typoutput for 't'
    MemoryContext cxt;    // holds everything above; reset on every reload
};

struct PluginState {
    std::string buf;  // one encoded message at a time; capacity is reused

    MemoryContext cxt;         // session lifetime
    MemoryContext change_cxt;  // reset after each callback
    HTAB* rels = nullptr;

    // Negotiated at startup (reference §5.1).
    bool allow_internal = false;
    bool allow_binary = false;
    bool forward_all = false;
    List* set_names = nullptr;     // char*, the subscriber's replication sets
    char* only_nspname = nullptr;  // spock.replicate_only_table
    char* only_relname = nullptr;
    Oid local_node = InvalidOid;
    Oid subscriber_node = InvalidOid;  // spock.subscriber_node_id, when the subscriber sent it

    // Loaded lazily under the historic snapshot, reloaded when the set catalog changes.
    bool sets_valid = false;
    catalog::SetInfo* sets = nullptr;
    int nsets = 0;

    // Per transaction.
    bool startup_sent = false;
    bool begin_sent = false;
    bool repair_mode = false;
    // Whether the transaction being decoded came from the subscriber itself (computed once).
    int from_subscriber = -1;  // -1 unknown, 0 no, 1 yes

    // Streaming of in-progress transactions (streaming.hpp), when the subscriber asked.
    bool stream_requested = false;
    // The subscriber asked for compact transaction headers (spock.compact_begin): no ORIGIN
    // for a transaction that originated here, no COMMIT-ORDER (always 0 without slot groups).
    bool compact_begin = false;
    bool in_stream = false;              // between the stream_start and stream_stop callbacks
    TransactionId stream_xid = 0;        // the top-level xid of that block
    bool stream_block_sent = false;      // STREAM START went out for the block
    TransactionId stream_marked = 0;     // the xid of the last STREAM XID of the block
    RepOriginId stream_origin = 0;       // origin whose from_subscriber answer is cached
    List* streamed_xids = nullptr;       // top-level xids with something sent (oid List, cxt)
    List* stream_repair_xids = nullptr;  // streamed xids whose changes repair mode holds back
};

// The state of the running session, for the relcache callback (which has no context argument).
PluginState* current_state();

// Creates the state for ctx and ties its lifetime to ctx->context.
PluginState* create_state(LogicalDecodingContext* ctx);

// Registers the relcache invalidation callback once per process.
void register_invalidation_callback();

// The relation's cache entry, loaded if needed (catalog reads under the historic snapshot).
RelEntry* get_rel_entry(PluginState* st, Relation rel);

}  // namespace spock::output
