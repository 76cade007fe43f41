#include "spock/output/writer.hpp"
#include "spock/output/streaming.hpp"

#include "spock/core/byte_order.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/version.hpp"

extern "C" {
#include <access/detoast.h>
#include <access/xlog.h>
#include <catalog/catversion.h>
#include <mb/pg_wchar.h>
#include <miscadmin.h>
#include <replication/origin.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::output {

using core::put_i32;
using core::put_i64;
using core::put_u16;
using core::put_u32;
using core::put_u8;

void flush_message(LogicalDecodingContext* ctx, PluginState* st, bool last) {
    OutputPluginPrepareWrite(ctx, last);
    appendBinaryStringInfo(ctx->out, st->buf.data(), static_cast<int>(st->buf.size()));
    OutputPluginWrite(ctx, last);
    st->buf.clear();
}

namespace {

const char* yes_no(bool v) {
    return v ? "t" : "f";
}

void add_param(std::string& out, const char* key, const char* value) {
    out.append(key);
    out.push_back('\0');
    out.append(value);
    out.push_back('\0');
}

void add_param_int(std::string& out, const char* key, long value) {
    char num[32];
    snprintf(num, sizeof num, "%ld", value);
    add_param(out, key, num);
}

// One tuple block: every column the publication sends, in attribute order.
void write_tuple(PluginState* st, Relation rel, RelEntry* e, HeapTuple tuple, bool is_new) {
    TupleDesc desc = RelationGetDescr(rel);
    int natts = 0;
    for (int i = 0; i < desc->natts; i++) {
        if (e->formats[i] != 0) {
            natts++;
        }
    }
    core::encode_tuple_header(st->buf, natts);
    for (int i = 0; i < desc->natts; i++) {
        char format = e->formats[i];
        if (format == 0) {
            continue;
        }
        Form_pg_attribute att = TupleDescAttr(desc, i);
        bool isnull;
        Datum value = heap_getattr(tuple, i + 1, desc, &isnull);
        if (isnull) {
            core::encode_column(st->buf, core::ColumnKind::Null, {});
            continue;
        }
        if (att->attlen == -1 && VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(value))) {
            if (is_new) {
                // A toast pointer in an UPDATE's new tuple: the value did not change.
                core::encode_column(st->buf, core::ColumnKind::Unchanged, {});
                continue;
            }
            // Elsewhere PostgreSQL logs values inline; should a pointer turn up, send the value.
            value = PointerGetDatum(
                detoast_external_attr(reinterpret_cast<struct varlena*>(DatumGetPointer(value))));
        }
        if (format == 'i') {
            if (att->attbyval) {
                char bytes[sizeof(Datum)];
                store_att_byval(bytes, value, att->attlen);
                core::encode_column(st->buf, core::ColumnKind::Internal,
                                    std::string_view(bytes, att->attlen));
            } else if (att->attlen > 0) {
                core::encode_column(st->buf, core::ColumnKind::Internal,
                                    std::string_view(DatumGetPointer(value), att->attlen));
            } else if (att->attlen == -1) {
                auto* v = reinterpret_cast<struct varlena*>(DatumGetPointer(value));
                if (VARATT_IS_EXTERNAL(v)) {
                    v = detoast_external_attr(v);  // indirect or expanded: flatten
                }
                core::encode_column(st->buf, core::ColumnKind::Internal,
                                    std::string_view(reinterpret_cast<char*>(v), VARSIZE_ANY(v)));
            } else {
                const char* s = DatumGetCString(value);
                core::encode_column(st->buf, core::ColumnKind::Internal,
                                    std::string_view(s, strlen(s) + 1));
            }
        } else if (format == 'b') {
            bytea* b = SendFunctionCall(&e->out_funcs[i], value);
            core::encode_column(st->buf, core::ColumnKind::Binary,
                                std::string_view(VARDATA(b), VARSIZE(b) - VARHDRSZ));
        } else {
            char* s = OutputFunctionCall(&e->out_funcs[i], value);
            core::encode_column(st->buf, core::ColumnKind::Text, s);
        }
    }
}

}  // namespace

void write_startup(LogicalDecodingContext* ctx, PluginState* st, bool last) {
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kStartup);
    put_u8(b, core::kStartupFormat);
    add_param_int(b, "max_proto_version", core::kMaxProtoVersion);
    add_param_int(b, "min_proto_version", core::kMinProtoVersion);
    add_param(b, "coltypes", "f");
    add_param_int(b, "pg_version_num", PG_VERSION_NUM);
    add_param(b, "pg_version", PG_VERSION);
    add_param_int(b, "pg_catversion", CATALOG_VERSION_NO);
    add_param(b, "database_encoding", GetDatabaseEncodingName());
    add_param(b, "encoding", GetDatabaseEncodingName());
    add_param(b, "forward_changeset_origins", "t");
    add_param_int(b, "walsender_pid", MyProcPid);
    add_param(b, "spock_version", core::kVersion);
    add_param_int(b, "spock_version_num", core::kVersionNum);
    add_param(b, "binary.internal_basetypes", yes_no(st->allow_internal));
    add_param(b, "binary.binary_basetypes", yes_no(st->allow_binary));
    add_param_int(b, "binary.basetypes_major_version", PG_VERSION_NUM / 100);
    add_param_int(b, "binary.sizeof_int", sizeof(int));
    add_param_int(b, "binary.sizeof_long", sizeof(long));
    add_param_int(b, "binary.sizeof_datum", sizeof(Datum));
    add_param_int(b, "binary.maxalign", MAXIMUM_ALIGNOF);
    add_param(b, "binary.bigendian", yes_no(false));
    add_param(b, "binary.float4_byval", yes_no(true));
    add_param(b, "binary.float8_byval", yes_no(FLOAT8PASSBYVAL));
    add_param(b, "binary.integer_datetimes", "t");
    add_param_int(b, "binary.binary_pg_version", PG_VERSION_NUM / 100);
    add_param(b, "no_txinfo", "f");
    flush_message(ctx, st, last);
    st->startup_sent = true;
}

Oid origin_node_id(PluginState* st, RepOriginId origin) {
    if (origin == InvalidRepOriginId) {
        return st->local_node;
    }
    // Our apply workers commit under the subscription's registered origin, named after its
    // slot; peers want the spock node id of the node the change came from.
    char* name = nullptr;
    if (replorigin_by_oid(origin, true, &name)) {
        Oid node = catalog::origin_node_for(name);
        if (OidIsValid(node)) {
            return node;
        }
    }
    return origin;
}

void write_begin(LogicalDecodingContext* ctx, PluginState* st, ReorderBufferTXN* txn) {
    if (!st->startup_sent) {
        write_startup(ctx, st, false);
    }
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kBegin);
    put_u8(b, 0);
    put_i64(b, static_cast<int64_t>(txn->final_lsn));
    put_i64(b, txn->xact_time.commit_time);
    put_u32(b, txn->xid);
    flush_message(ctx, st, false);

    // Each message is a CopyData of its own, and the walsender sends each at once: a subscriber
    // that asked for compact headers is spared the two that say nothing new to it.
    if (!st->compact_begin || txn->origin_id != InvalidRepOriginId) {
        put_u8(b, core::msgtype::kOrigin);
        put_u8(b, 0);
        put_i64(b, static_cast<int64_t>(txn->origin_lsn));
        put_u16(b, static_cast<uint16_t>(origin_node_id(st, txn->origin_id)));
        flush_message(ctx, st, false);
    }

    // Commit order for slot groups; plain slots are not in a group (reference §5.5).
    if (!st->compact_begin) {
        put_u8(b, core::msgtype::kCommitOrder);
        put_u8(b, 0);
        put_i64(b, 0);
        flush_message(ctx, st, false);
    }
    st->begin_sent = true;
}

void write_relation(LogicalDecodingContext* ctx, PluginState* st, Relation rel, RelEntry* e) {
    TupleDesc desc = RelationGetDescr(rel);
    Bitmapset* key = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_IDENTITY_KEY);
    const char* nsp = get_namespace_name(RelationGetNamespace(rel));
    const char* name = RelationGetRelationName(rel);
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kRelation);
    put_u8(b, 0);
    put_u32(b, RelationGetRelid(rel));
    put_u8(b, static_cast<uint8_t>(strlen(nsp) + 1));
    b.append(nsp, strlen(nsp) + 1);
    put_u8(b, static_cast<uint8_t>(strlen(name) + 1));
    b.append(name, strlen(name) + 1);
    int natts = 0;
    for (int i = 0; i < desc->natts; i++) {
        if (e->formats[i] != 0) {
            natts++;
        }
    }
    put_u8(b, core::marker::kAttrs);
    put_u16(b, static_cast<uint16_t>(natts));
    for (int i = 0; i < desc->natts; i++) {
        if (e->formats[i] == 0) {
            continue;
        }
        Form_pg_attribute att = TupleDescAttr(desc, i);
        bool is_key = bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, key);
        put_u8(b, core::marker::kColumn);
        put_u8(b, is_key ? core::kRelationColumnIsKey : 0);
        put_u8(b, core::marker::kName);
        const char* attname = NameStr(att->attname);
        put_u16(b, static_cast<uint16_t>(strlen(attname) + 1));
        b.append(attname, strlen(attname) + 1);
        put_i32(b, static_cast<int32_t>(att->atttypid));
        put_i32(b, att->atttypmod);
    }
    bms_free(key);
    flush_message(ctx, st, false);
    note_relation_sent(st, e);
}

void write_change(LogicalDecodingContext* ctx, PluginState* st, Relation rel, RelEntry* e,
                  ReorderBufferChange* change) {
    std::string& b = st->buf;
    ReorderBufferTupleBuf* oldtuple = change->data.tp.oldtuple;
    ReorderBufferTupleBuf* newtuple = change->data.tp.newtuple;
    switch (change->action) {
        case REORDER_BUFFER_CHANGE_INSERT:
            put_u8(b, core::msgtype::kInsert);
            put_u8(b, 0);
            put_u32(b, RelationGetRelid(rel));
            put_u8(b, core::marker::kName);
            write_tuple(st, rel, e, &newtuple->tuple, false);
            break;
        case REORDER_BUFFER_CHANGE_UPDATE:
            put_u8(b, core::msgtype::kUpdate);
            put_u8(b, 0);
            put_u32(b, RelationGetRelid(rel));
            if (oldtuple != nullptr) {
                put_u8(b, core::marker::kKey);
                write_tuple(st, rel, e, &oldtuple->tuple, false);
            }
            put_u8(b, core::marker::kName);
            write_tuple(st, rel, e, &newtuple->tuple, true);
            break;
        case REORDER_BUFFER_CHANGE_DELETE:
            put_u8(b, core::msgtype::kDelete);
            put_u8(b, 0);
            put_u32(b, RelationGetRelid(rel));
            put_u8(b, core::marker::kKey);
            write_tuple(st, rel, e, &oldtuple->tuple, false);
            break;
        default:
            return;
    }
    flush_message(ctx, st, true);
}

void write_truncate(LogicalDecodingContext* ctx, PluginState* st, int nrelids, const Oid* relids,
                    bool cascade, bool restart_identity) {
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kTruncate);
    put_i32(b, nrelids);
    put_u8(b, static_cast<uint8_t>((cascade ? core::kTruncateCascade : 0) |
                                   (restart_identity ? core::kTruncateRestartIdentity : 0)));
    for (int i = 0; i < nrelids; i++) {
        put_u32(b, relids[i]);
    }
    flush_message(ctx, st, true);
}

void write_logical_message(LogicalDecodingContext* ctx, PluginState* st, TransactionId xid,
                           XLogRecPtr lsn, bool transactional, const char* prefix, Size size,
                           const char* payload) {
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kMessage);
    put_i32(b, transactional ? static_cast<int32_t>(xid) : 0);
    put_i64(b, static_cast<int64_t>(lsn));
    put_u8(b, transactional ? 1 : 0);
    b.append(prefix, strlen(prefix) + 1);
    put_i32(b, static_cast<int32_t>(size));
    b.append(payload, size);
    flush_message(ctx, st, true);
}

void write_commit(LogicalDecodingContext* ctx, PluginState* st, ReorderBufferTXN* txn,
                  XLogRecPtr commit_lsn) {
    std::string& b = st->buf;
    put_u8(b, core::msgtype::kCommit);
    put_u8(b, 0);
    put_i64(b, static_cast<int64_t>(commit_lsn));
    put_i64(b, static_cast<int64_t>(txn->end_lsn));
    put_i64(b, txn->xact_time.commit_time);
    put_i64(b, static_cast<int64_t>(GetXLogInsertRecPtr()));
    flush_message(ctx, st, true);
    st->begin_sent = false;
}

}  // namespace spock::output
