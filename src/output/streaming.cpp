// Streaming of large in-progress transactions; see streaming.hpp.
#include "spock/output/streaming.hpp"

#include "spock/core/protocol.hpp"
#include "spock/output/standby_gate.hpp"
#include "spock/output/writer.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <access/xlog.h>
#include <utils/hsearch.h>
#include <utils/memutils.h>
}

namespace spock::output {
namespace {

PluginState* state_of(LogicalDecodingContext* ctx) {
    return static_cast<PluginState*>(ctx->output_plugin_private);
}

// Adds xid to an oid List kept in the session context.
List* remember_xid(PluginState* st, List* list, TransactionId xid) {
    if (list_member_oid(list, xid)) {
        return list;
    }
    MemoryContext old = MemoryContextSwitchTo(st->cxt);
    list = lappend_oid(list, xid);
    MemoryContextSwitchTo(old);
    return list;
}

// The stream of xid ended (committed: true) or lost what it described (an abort): every
// relation it described is no longer described for it; after a commit the subscriber holds
// the stream's description, so transactions sent whole describe the relation again.
void forget_stream_relations(PluginState* st, TransactionId xid, bool committed) {
    HASH_SEQ_STATUS seq;
    hash_seq_init(&seq, st->rels);
    RelEntry* e;
    while ((e = static_cast<RelEntry*>(hash_seq_search(&seq))) != nullptr) {
        if (list_member_oid(e->streamed_xids, xid)) {
            e->streamed_xids = list_delete_oid(e->streamed_xids, xid);
            if (committed) {
                e->meta_sent = false;
            }
        }
    }
}

void forget_stream(PluginState* st, TransactionId xid, bool committed) {
    st->streamed_xids = list_delete_oid(st->streamed_xids, xid);
    st->stream_repair_xids = list_delete_oid(st->stream_repair_xids, xid);
    forget_stream_relations(st, xid, committed);
}

void cb_stream_start(LogicalDecodingContext* ctx, ReorderBufferTXN* txn) {
    pg::guarded([=] {
        PluginState* st = state_of(ctx);
        st->in_stream = true;
        st->stream_xid = txn->xid;
        st->stream_block_sent = false;
        st->stream_marked = txn->xid;
        st->from_subscriber = -1;
        // Repair mode lasts for the rest of the transaction, across its blocks.
        st->repair_mode = list_member_oid(st->stream_repair_xids, txn->xid);
    });
}

void cb_stream_stop(LogicalDecodingContext* ctx, ReorderBufferTXN* txn) {
    pg::guarded([=] {
        PluginState* st = state_of(ctx);
        if (st->stream_block_sent) {
            core::encode(st->buf, core::StreamStop{});
            flush_message(ctx, st, true);
        }
        if (st->repair_mode) {
            st->stream_repair_xids = remember_xid(st, st->stream_repair_xids, txn->xid);
        } else {
            st->stream_repair_xids = list_delete_oid(st->stream_repair_xids, txn->xid);
        }
        st->in_stream = false;
        st->stream_block_sent = false;
        st->repair_mode = false;
    });
}

// txn is the transaction that aborted: the streamed one or one of its subtransactions.
void cb_stream_abort(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, XLogRecPtr) {
    pg::guarded([=] {
        PluginState* st = state_of(ctx);
        ReorderBufferTXN* top = txn->toptxn != nullptr ? txn->toptxn : txn;
        if (!list_member_oid(st->streamed_xids, top->xid)) {
            if (top == txn) {
                forget_stream(st, top->xid, false);  // nothing of it was sent
            }
            return;
        }
        core::encode(st->buf, core::StreamAbort{top->xid, txn->xid});
        flush_message(ctx, st, true);
        if (top == txn) {
            forget_stream(st, top->xid, false);
        } else {
            forget_stream_relations(st, top->xid, false);
        }
    });
}

void cb_stream_commit(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, XLogRecPtr commit_lsn) {
    pg::guarded([=] {
        PluginState* st = state_of(ctx);
        if (!list_member_oid(st->streamed_xids, txn->xid)) {
            // Nothing was sent; let the walsender advance the slot past this transaction.
            OutputPluginUpdateProgress(ctx, true);
            forget_stream(st, txn->xid, false);
            return;
        }
        // With spock.pg_standby_slot_names, the commit leaves only once the physical standbys
        // have the transaction; the subscriber applies nothing of it before (it spools).
        wait_for_standbys(ctx, txn->end_lsn);
        core::StreamCommit c;
        c.xid = txn->xid;
        c.commit_lsn = core::Lsn{commit_lsn};
        c.end_lsn = core::Lsn{txn->end_lsn};
        c.commit_time = core::TimestampUs{txn->xact_time.commit_time};
        c.origin_lsn = core::Lsn{txn->origin_lsn};
        c.origin_id = static_cast<core::OriginId>(origin_node_id(st, txn->origin_id));
        c.remote_insert_lsn = core::Lsn{GetXLogInsertRecPtr()};
        core::encode(st->buf, c);
        flush_message(ctx, st, true);
        forget_stream(st, txn->xid, true);
    });
}

}  // namespace

bool relation_needs_sending(PluginState* st, RelEntry* e) {
    if (st->in_stream) {
        return !list_member_oid(e->streamed_xids, st->stream_xid);
    }
    return !e->meta_sent;
}

void note_relation_sent(PluginState* st, RelEntry* e) {
    if (st->in_stream) {
        e->streamed_xids = remember_xid(st, e->streamed_xids, st->stream_xid);
    } else {
        e->meta_sent = true;
    }
}

void ensure_stream_block(LogicalDecodingContext* ctx, PluginState* st, TransactionId xid) {
    if (!st->stream_block_sent) {
        if (!st->startup_sent) {
            write_startup(ctx, st, false);
        }
        bool first = !list_member_oid(st->streamed_xids, st->stream_xid);
        core::encode(st->buf, core::StreamStart{st->stream_xid, first});
        flush_message(ctx, st, false);
        st->streamed_xids = remember_xid(st, st->streamed_xids, st->stream_xid);
        st->stream_block_sent = true;
        st->stream_marked = st->stream_xid;
    }
    if (xid != st->stream_marked) {
        core::encode(st->buf, core::StreamXid{xid});
        flush_message(ctx, st, false);
        st->stream_marked = xid;
    }
}

void install_stream_callbacks(OutputPluginCallbacks* cb) {
    cb->stream_start_cb = cb_stream_start;
    cb->stream_stop_cb = cb_stream_stop;
    cb->stream_abort_cb = cb_stream_abort;
    cb->stream_commit_cb = cb_stream_commit;
    // Changes, TRUNCATEs and messages go through the ordinary callbacks, which see in_stream.
    cb->stream_change_cb = cb->change_cb;
    cb->stream_truncate_cb = cb->truncate_cb;
    cb->stream_message_cb = cb->message_cb;
}

}  // namespace spock::output
