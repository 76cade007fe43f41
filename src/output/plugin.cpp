// The spock_output logical decoding plugin (reference §5): startup negotiation, the filters of
// §5.4 and the native protocol. Each callback is an entry point and runs under the guard; the
// per-change work below it holds no C++ objects with destructors.
#include <optional>
#include <string_view>
#include <variant>

#include "spock/catalog/decoding.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/startup_params.hpp"
#include "spock/core/version.hpp"
#include "spock/core/sha256.hpp"
#include "spock/core/wal_message.hpp"
#include "spock/output/plugin_state.hpp"
#include "spock/output/row_filter_eval.hpp"
#include "spock/output/standby_gate.hpp"
#include "spock/output/streaming.hpp"
#include "spock/output/writer.hpp"
#include "spock/pg/control_key.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <catalog/catversion.h>
#include <access/xact.h>
#include <commands/dbcommands.h>
#include <commands/defrem.h>
#include <mb/pg_wchar.h>
#include <miscadmin.h>
#include <replication/logical.h>
#include <replication/origin.h>
#include <replication/output_plugin.h>
#include <utils/array.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
#include <utils/rel.h>
}

namespace spock::output {
namespace {

PluginState* state_of(LogicalDecodingContext* ctx) {
    return static_cast<PluginState*>(ctx->output_plugin_private);
}

// ----- startup --------------------------------------------------------------------------------

std::vector<core::StartupOption> options_of(LogicalDecodingContext* ctx) {
    std::vector<core::StartupOption> out;
    ListCell* lc;
    foreach (lc, ctx->output_plugin_options) {
        auto* def = static_cast<DefElem*>(lfirst(lc));
        core::StartupOption opt{def->defname, std::nullopt};
        if (def->arg != nullptr) {
            opt.value = strVal(def->arg);
        }
        out.push_back(std::move(opt));
    }
    return out;
}

// Copies the negotiated parameters into the state. Everything PostgreSQL allocates here lives
// in the session context.
void apply_params(PluginState* st, const core::StartupParams& params) {
    if (params.proto_format != core::ProtoFormat::Native) {
        throw core::Error(core::sqlstate::kFeatureNotSupported,
                          "spock_output supports only the native protocol format", {},
                          "Omit proto_format or set it to 'native'.");
    }
    if (params.expected_encoding) {
        const char* enc = params.expected_encoding->c_str();
        bool matches =
            pg::pg_call([enc] { return pg_char_to_encoding(enc) == GetDatabaseEncoding(); });
        if (!matches) {
            throw core::Error(core::sqlstate::kProtocolViolation,
                              "subscriber expects encoding \"" + *params.expected_encoding +
                                  "\" but the database encoding is \"" + GetDatabaseEncodingName() +
                                  "\"",
                              {}, "Create the subscriber's database with the same encoding.");
        }
    }
    if (params.no_txinfo) {
        pg::pg_call([] {
            ereport(WARNING, (errmsg("no_txinfo applies only to the json protocol format and "
                                     "is ignored")));
        });
    }
    for (const std::string& name : params.ignored_options) {
        const char* n = name.c_str();
        pg::pg_call([n] { elog(DEBUG1, "spock_output: ignoring unknown option \"%s\"", n); });
    }
    core::BinaryFormats formats =
        core::negotiate_binary_formats(params.binary, core::native_binary_traits(PG_VERSION_NUM));
    st->allow_internal = formats.internal;
    st->allow_binary = formats.binary;
    st->forward_all = params.forward_all_origins;
    st->stream_requested = params.stream_in_progress;
    st->compact_begin = params.compact_begin;
    if (params.subscriber_node_id) {
        st->subscriber_node = *params.subscriber_node_id;
    }
    MemoryContext cxt = st->cxt;
    if (params.replication_set_names) {
        for (const std::string& name : *params.replication_set_names) {
            const char* n = name.c_str();
            st->set_names = pg::pg_call([cxt, st, n] {
                MemoryContext old = MemoryContextSwitchTo(cxt);
                List* l = lappend(st->set_names, pstrdup(n));
                MemoryContextSwitchTo(old);
                return l;
            });
        }
    }
    if (params.replicate_only_table) {
        const char* nsp = params.replicate_only_table->first.c_str();
        const char* rel = params.replicate_only_table->second.c_str();
        st->only_nspname = pg::pg_call([cxt, nsp] { return MemoryContextStrdup(cxt, nsp); });
        st->only_relname = pg::pg_call([cxt, rel] { return MemoryContextStrdup(cxt, rel); });
    }
}

// The local node is read once, with a regular snapshot: decoding has not started yet. The
// walsender calls startup outside a transaction, so one is opened for the read. The
// subscriber's set names are checked against the sets that exist now, so that a name no set
// has is reported once; while decoding, the sets are read as of each change (see
// get_rel_entry), when a set created later may not exist yet.
void load_local_node(PluginState* st) {
    MemoryContext cxt = CurrentMemoryContext;
    bool own_xact = !IsTransactionState();
    if (own_xact) {
        StartTransactionCommand();
    }
    st->local_node = catalog::read_local_node_id();
    if (!OidIsValid(st->local_node)) {
        // Raised inside the transaction: the database name needs the catalog, and error
        // recovery aborts the transaction.
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("database \"%s\" is not configured as a spock node",
                               get_database_name(MyDatabaseId)),
                        errhint("Create the node with spock.node_create() before subscribing "
                                "to it.")));
    }
    int nsets;
    pfree(catalog::read_sets(st->local_node, st->set_names, true, &nsets));
    if (own_xact) {
        CommitTransactionCommand();
    }
    MemoryContextSwitchTo(cxt);
}

void startup(LogicalDecodingContext* ctx, OutputPluginOptions* opt, bool is_init) {
    opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
    opt->receive_rewrites = false;
    PluginState* st = create_state(ctx);
    if (is_init) {
        ctx->streaming = false;  // no subscriber asked
        return;                  // slot creation: nothing is decoded, no options are given
    }
    register_invalidation_callback();
    {
        std::vector<core::StartupOption> options = options_of(ctx);
        core::StartupParams params = core::parse_startup_options(options);
        apply_params(st, params);
    }
    // Large in-progress transactions are streamed only to a subscriber that asked
    // (streaming.hpp); everyone else gets whole transactions, as from Spock.
    if (!st->stream_requested) {
        ctx->streaming = false;
    }
    load_local_node(st);
}

// ----- filters and changes --------------------------------------------------------------------

bool action_published(const catalog::Publication& pub, ReorderBufferChangeType action) {
    switch (action) {
        case REORDER_BUFFER_CHANGE_INSERT:
            return pub.replicate_insert;
        case REORDER_BUFFER_CHANGE_UPDATE:
            return pub.replicate_update;
        case REORDER_BUFFER_CHANGE_DELETE:
            return pub.replicate_delete;
        default:
            return false;
    }
}

// A spock.queue row goes to subscribers whose sets it names, or to all when it names none.
bool queue_row_wanted(PluginState* st, Relation rel, HeapTuple tuple) {
    bool isnull;
    AttrNumber attnum = get_attnum(RelationGetRelid(rel), "replication_sets");
    Datum sets = heap_getattr(tuple, attnum, RelationGetDescr(rel), &isnull);
    if (isnull) {
        return true;
    }
    Datum* elems;
    bool* nulls;
    int n;
    deconstruct_array(DatumGetArrayTypeP(sets), TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls,
                      &n);
    for (int i = 0; i < n; i++) {
        if (nulls[i]) {
            continue;
        }
        char* name = TextDatumGetCString(elems[i]);
        ListCell* lc;
        foreach (lc, st->set_names) {
            if (strcmp(name, static_cast<char*>(lfirst(lc))) == 0) {
                return true;
            }
        }
    }
    return false;
}

// A change that came from the subscriber itself, through other nodes that forward all origins:
// sending it back would make it go round a ring for ever. A streamed transaction's origin is
// known only at its commit, so inside a stream the change's own origin is asked (change may be
// null for a message, which then counts as local).
bool from_subscriber(PluginState* st, ReorderBufferTXN* txn, ReorderBufferChange* change) {
    if (!OidIsValid(st->subscriber_node)) {
        return false;
    }
    RepOriginId origin = InvalidRepOriginId;
    if (st->in_stream) {
        origin = change != nullptr ? change->origin_id : InvalidRepOriginId;
        if (origin != InvalidRepOriginId && origin != st->stream_origin) {
            st->stream_origin = origin;
            st->from_subscriber = -1;
        }
    } else if (txn != nullptr) {
        origin = txn->origin_id;
    }
    if (origin == InvalidRepOriginId) {
        return false;
    }
    if (st->from_subscriber < 0) {
        st->from_subscriber = origin_node_id(st, origin) == st->subscriber_node ? 1 : 0;
    }
    return st->from_subscriber == 1;
}

// Before the first change sent: BEGIN, or inside a stream block STREAM START and the STREAM XID
// of the (sub)transaction `of` the change belongs to.
void ensure_begin(LogicalDecodingContext* ctx, PluginState* st, ReorderBufferTXN* txn,
                  ReorderBufferTXN* of) {
    if (st->in_stream) {
        ensure_stream_block(ctx, st, of != nullptr ? of->xid : txn->xid);
        return;
    }
    if (!st->begin_sent) {
        write_begin(ctx, st, txn);
    }
}

void handle_change(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, Relation rel,
                   ReorderBufferChange* change) {
    PluginState* st = state_of(ctx);
    if (st->repair_mode || from_subscriber(st, txn, change)) {
        return;
    }
    RelEntry* e = get_rel_entry(st, rel);
    if (e->is_set_catalog) {
        // A set changed: re-read the sets and every publication from here on.
        st->sets_valid = false;
        return;
    }
    if (!e->pub.member || !action_published(e->pub, change->action)) {
        return;
    }
    ReorderBufferTupleBuf* oldtuple = change->data.tp.oldtuple;
    ReorderBufferTupleBuf* newtuple = change->data.tp.newtuple;
    if (change->action == REORDER_BUFFER_CHANGE_DELETE && oldtuple == nullptr) {
        return;  // no replica identity: nothing identifies the row for the subscriber
    }
    HeapTuple filtered =
        change->action == REORDER_BUFFER_CHANGE_DELETE ? &oldtuple->tuple : &newtuple->tuple;
    if (e->is_queue && !queue_row_wanted(st, rel, filtered)) {
        return;
    }
    HeapTuple old_row = change->action == REORDER_BUFFER_CHANGE_UPDATE && oldtuple != nullptr
                            ? &oldtuple->tuple
                            : nullptr;
    if (e->pub.row_filters != NIL &&
        !row_filters_pass(rel, e->pub.row_filters, filtered, old_row)) {
        return;
    }
    ensure_begin(ctx, st, txn, change->txn);
    if (relation_needs_sending(st, e)) {
        write_relation(ctx, st, rel, e);
    }
    write_change(ctx, st, rel, e, change);
}

void handle_truncate(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, int nrelations,
                     Relation relations[], ReorderBufferChange* change) {
    PluginState* st = state_of(ctx);
    if (st->repair_mode || from_subscriber(st, txn, change)) {
        return;
    }
    Oid* relids = static_cast<Oid*>(palloc(sizeof(Oid) * nrelations));
    int n = 0;
    for (int i = 0; i < nrelations; i++) {
        RelEntry* e = get_rel_entry(st, relations[i]);
        // Only the subscriber's own sets count (Spock uses every set of the provider,
        // reference §14 item 11).
        if (e->is_set_catalog || e->is_queue || !e->pub.member || !e->pub.replicate_truncate) {
            continue;
        }
        ensure_begin(ctx, st, txn, change->txn);
        if (relation_needs_sending(st, e)) {
            write_relation(ctx, st, relations[i], e);
        }
        relids[n++] = RelationGetRelid(relations[i]);
    }
    if (n > 0) {
        write_truncate(ctx, st, n, relids, change->data.truncate.cascade,
                       change->data.truncate.restart_seqs);
    }
    pfree(relids);
}

// The type of a "Spock" WAL message, read with the same rules the subscriber applies to the
// sync events we forward; nullopt and a reason in `problem` when it cannot be read. No
// PostgreSQL call happens here, so nothing can jump over the C++ objects.
std::optional<core::WalMessageType> read_wal_message(const char* payload, Size size,
                                                     char (&problem)[256]) {
    try {
        core::WalMessage msg = core::decode_wal_message(std::string_view(payload, size));
        if (const auto* repair = std::get_if<core::RepairMode>(&msg)) {
            return repair->on ? core::WalMessageType::RepairModeOn
                              : core::WalMessageType::RepairModeOff;
        }
        return core::WalMessageType::SyncEvent;
    } catch (const core::Error& e) {
        strlcpy(problem, e.what(), sizeof problem);
        return std::nullopt;
    }
}

// Whether a repair mode message was written by spock.repair_mode() of this cluster in the
// transaction being decoded: its tag must be the one computed with the cluster's key over
// the body and the transaction's top-level xid. A key that cannot be read throws (an ERROR
// for the walsender): obeying or ignoring the message unverified would both be wrong.
bool repair_message_authentic(const char* payload, Size size, TransactionId xid) {
    core::TaggedPayload parts = core::split_wal_message_tag(std::string_view(payload, size));
    if (parts.tag.empty()) {
        return false;
    }
    std::string expected = core::wal_message_tag(pg::control_message_key(), parts.body, xid);
    return core::equal_in_constant_time(expected, parts.tag);
}

void handle_message(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, XLogRecPtr lsn,
                    bool transactional, const char* prefix, Size size, const char* payload) {
    if (strcmp(prefix, core::kSpockMessagePrefix.data()) != 0) {
        return;  // other extensions' messages are not ours to forward
    }
    PluginState* st = state_of(ctx);
    char problem[256];
    Size body_size = core::split_wal_message_tag(std::string_view(payload, size)).body.size();
    std::optional<core::WalMessageType> type = read_wal_message(payload, body_size, problem);
    if (!type) {
        // Forwarding it would stop the subscriber, which cannot read it either.
        problem[0] = static_cast<char>(pg_toupper(static_cast<unsigned char>(problem[0])));
        ereport(WARNING, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                          errmsg("ignoring a spock WAL message that cannot be read"),
                          errdetail_internal("%s.", problem)));
        return;
    }
    if (*type != core::WalMessageType::SyncEvent) {
        // Only transactional repair mode messages count, so the xid is the transaction's.
        if (!transactional || txn == nullptr ||
            !repair_message_authentic(payload, size, txn->xid)) {
            ereport(WARNING, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                              errmsg("ignoring a spock repair mode message not written by "
                                     "spock.repair_mode()"),
                              errdetail("Its authentication tag is missing or wrong, or it is not "
                                        "transactional."),
                              errhint("Use spock.repair_mode() as a superuser, not "
                                      "pg_logical_emit_message().")));
            return;
        }
    }
    switch (*type) {
        case core::WalMessageType::RepairModeOn:
            st->repair_mode = true;
            return;
        case core::WalMessageType::RepairModeOff:
            st->repair_mode = false;
            return;
        case core::WalMessageType::SyncEvent:
            if (transactional) {
                if (st->repair_mode || from_subscriber(st, txn, nullptr)) {
                    return;
                }
                // Inside a stream: sent as the top-level transaction's (the callback does not
                // say which subtransaction wrote the message).
                ensure_begin(ctx, st, txn, txn);
            } else if (!st->startup_sent) {
                write_startup(ctx, st, false);
            }
            write_logical_message(ctx, st, txn != nullptr ? txn->xid : InvalidTransactionId, lsn,
                                  transactional, prefix, size, payload);
            return;
    }
}

// ----- callbacks --------------------------------------------------------------------------

// Runs one callback under the guard, with its allocations in the per-change context.
template <typename F>
void in_change_context(LogicalDecodingContext* ctx, F&& fn) {
    pg::guarded([ctx, &fn] {
        PluginState* st = state_of(ctx);
        MemoryContext old = MemoryContextSwitchTo(st->change_cxt);
        fn();
        MemoryContextSwitchTo(old);
        MemoryContextReset(st->change_cxt);
    });
}

void cb_startup(LogicalDecodingContext* ctx, OutputPluginOptions* opt, bool is_init) {
    pg::guarded([=] { startup(ctx, opt, is_init); });
}

// cb_filter_by_origin and cb_shutdown only read and set plain fields: they can neither throw
// nor raise an error, so they need no guard (noexcept says so).
void cb_begin(LogicalDecodingContext* ctx, ReorderBufferTXN* txn) {
    // BEGIN goes out with the first change the subscriber receives, so transactions that touch
    // nothing it subscribes to cost it nothing.
    PluginState* st = state_of(ctx);
    st->begin_sent = false;
    st->repair_mode = false;
    st->from_subscriber = -1;
    // With spock.pg_standby_slot_names, nothing of the transaction leaves before the physical
    // standbys have it (docs/high-availability.md).
    pg::guarded([=] { wait_for_standbys(ctx, txn->end_lsn); });
}

void cb_change(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, Relation rel,
               ReorderBufferChange* change) {
    in_change_context(ctx, [=] { handle_change(ctx, txn, rel, change); });
}

void cb_truncate(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, int nrelations,
                 Relation relations[], ReorderBufferChange* change) {
    in_change_context(ctx, [=] { handle_truncate(ctx, txn, nrelations, relations, change); });
}

void cb_message(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, XLogRecPtr lsn,
                bool transactional, const char* prefix, Size size, const char* payload) {
    in_change_context(ctx,
                      [=] { handle_message(ctx, txn, lsn, transactional, prefix, size, payload); });
}

void cb_commit(LogicalDecodingContext* ctx, ReorderBufferTXN* txn, XLogRecPtr commit_lsn) {
    in_change_context(ctx, [=] {
        PluginState* st = state_of(ctx);
        if (st->begin_sent) {
            write_commit(ctx, st, txn, commit_lsn);
        } else {
            // Nothing was sent; let the walsender advance the slot past this transaction.
            OutputPluginUpdateProgress(ctx, true);
        }
        st->repair_mode = false;
    });
}

bool cb_filter_by_origin(LogicalDecodingContext* ctx, RepOriginId origin_id) noexcept {
    PluginState* st = state_of(ctx);
    // Changes applied from another node are not sent on unless the subscriber forwards all
    // origins: this is what keeps a full mesh from looping.
    return origin_id != InvalidRepOriginId && !st->forward_all;
}

void cb_shutdown(LogicalDecodingContext*) noexcept {
    // The state is released with the decoding context's memory (see plugin_state.hpp).
}

}  // namespace
}  // namespace spock::output

extern "C" SPOCK_EXPORT void _PG_output_plugin_init(OutputPluginCallbacks* cb);

void _PG_output_plugin_init(OutputPluginCallbacks* cb) {
    using namespace spock::output;
    cb->startup_cb = cb_startup;
    cb->begin_cb = cb_begin;
    cb->change_cb = cb_change;
    cb->truncate_cb = cb_truncate;
    cb->message_cb = cb_message;
    cb->commit_cb = cb_commit;
    cb->filter_by_origin_cb = cb_filter_by_origin;
    cb->shutdown_cb = cb_shutdown;
    install_stream_callbacks(cb);
}
