// Column values of the wire protocol to local Datums (reference §5.3 tuple block).
//
//  't' text: the local type's input function. This works whatever the provider's type was.
//  'b' send/receive: the local type's receive function when the provider's type is the local
//      one, or is not built-in (a user type has a different OID on each node; same-named types
//      are assumed to share their binary form, as PostgreSQL's own binary mode does). A
//      different built-in type goes through its receive and output functions, then the local
//      input function.
//  'i' internal datum bytes: used as they are when the provider's type is the local one (the
//      startup handshake guaranteed the same layout); a different type is turned into its text
//      form first.
//  'n' NULL; 'u' unchanged toasted value: the local value stays (UPDATE only).
#include "apply_internal.hpp"
#include "ddl_apply.hpp"

extern "C" {
#include <access/transam.h>
#include <lib/stringinfo.h>
#include <mb/pg_wchar.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
}

namespace spock::apply::detail {
namespace {

[[noreturn]] void bad_value(const RelMapEntry* e, const RemoteColumn* c, const char* what) {
    ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                    errmsg("malformed value for column \"%s\" of remote relation \"%s.%s\": %s",
                           c->name, e->nspname, e->relname, what)));
}

Datum input_local(RelMapEntry* e, RemoteColumn* c, Form_pg_attribute att, const char* text) {
    if (c->input_fn.fn_oid == InvalidOid) {
        Oid fn;
        getTypeInputInfo(att->atttypid, &fn, &c->input_ioparam);
        fmgr_info_cxt(fn, &c->input_fn, e->local_cxt);
    }
    return InputFunctionCall(&c->input_fn, const_cast<char*>(text), c->input_ioparam,
                             att->atttypmod);
}

// A StringInfo over a NUL-terminated copy of the bytes, as receive functions expect.
void bytes_buffer(StringInfo buf, const std::string& bytes) {
    int len = static_cast<int>(bytes.size());
    buf->data = static_cast<char*>(palloc(len + 1));
    memcpy(buf->data, bytes.data(), len);
    buf->data[len] = '\0';
    buf->len = len;
    buf->maxlen = len + 1;
    buf->cursor = 0;
}

void check_consumed(const RelMapEntry* e, const RemoteColumn* c, StringInfo buf) {
    if (buf->cursor != buf->len) {
        ereport(ERROR, (errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
                        errmsg("incorrect binary data format in column \"%s\" of remote relation "
                               "\"%s.%s\"",
                               c->name, e->nspname, e->relname)));
    }
}

Datum binary_value(RelMapEntry* e, RemoteColumn* c, Form_pg_attribute att,
                   const std::string& bytes) {
    StringInfoData buf;
    bytes_buffer(&buf, bytes);
    if (c->remote_typid == att->atttypid || c->remote_typid >= FirstNormalObjectId) {
        if (c->recv_fn.fn_oid == InvalidOid) {
            Oid fn;
            getTypeBinaryInputInfo(att->atttypid, &fn, &c->recv_ioparam);
            fmgr_info_cxt(fn, &c->recv_fn, e->local_cxt);
        }
        Datum d = ReceiveFunctionCall(&c->recv_fn, &buf, c->recv_ioparam, att->atttypmod);
        check_consumed(e, c, &buf);
        return d;
    }
    Oid recv, ioparam, out;
    bool varlena;
    getTypeBinaryInputInfo(c->remote_typid, &recv, &ioparam);
    Datum remote = OidReceiveFunctionCall(recv, &buf, ioparam, c->remote_typmod);
    check_consumed(e, c, &buf);
    getTypeOutputInfo(c->remote_typid, &out, &varlena);
    return input_local(e, c, att, OidOutputFunctionCall(out, remote));
}

// The datum whose internal image the bytes are, for a type of this length and passing.
Datum internal_datum(const RelMapEntry* e, const RemoteColumn* c, const std::string& bytes,
                     int16 typlen, bool typbyval) {
    const size_t len = bytes.size();
    if (typbyval) {
        if (typlen <= 0 || len != static_cast<size_t>(typlen) || len > sizeof(Datum)) {
            bad_value(e, c, "wrong length for a by-value datum");
        }
        union {
            Datum align;
            char bytes[sizeof(Datum)];
        } u;
        u.align = 0;
        memcpy(u.bytes, bytes.data(), len);
        return fetch_att(u.bytes, true, typlen);
    }
    if (typlen > 0) {
        if (len != static_cast<size_t>(typlen)) {
            bad_value(e, c, "wrong length for a fixed-length datum");
        }
        char* p = static_cast<char*>(palloc(len));
        memcpy(p, bytes.data(), len);
        return PointerGetDatum(p);
    }
    if (typlen == -1) {
        // A complete varlena image (possibly with a short header or compressed inline); never
        // a TOAST pointer, which would refer to the provider's storage.
        if (len == 0 || len > MaxAllocSize) {
            bad_value(e, c, "wrong length for a varlena datum");
        }
        char* p = static_cast<char*>(palloc(len));  // palloc memory is MAXALIGNed
        memcpy(p, bytes.data(), len);
        if (VARATT_IS_EXTERNAL(p)) {
            bad_value(e, c, "a TOAST pointer cannot be applied");
        }
        if (!VARATT_IS_1B(p) && len < VARHDRSZ) {
            bad_value(e, c, "truncated varlena header");
        }
        if (VARSIZE_ANY(p) != len) {
            bad_value(e, c, "varlena length does not match the value length");
        }
        return PointerGetDatum(p);
    }
    // cstring (typlen -2)
    char* p = static_cast<char*>(palloc(len + 1));
    memcpy(p, bytes.data(), len);
    p[len] = '\0';
    return CStringGetDatum(p);
}

Datum internal_value(RelMapEntry* e, RemoteColumn* c, Form_pg_attribute att,
                     const std::string& bytes) {
    if (c->remote_typid == att->atttypid) {
        return internal_datum(e, c, bytes, att->attlen, att->attbyval);
    }
    // Internal format is only sent for built-in types, which mean the same on every node.
    if (c->remote_typid >= FirstNormalObjectId) {
        bad_value(e, c, "internal format for a type that is not built-in");
    }
    int16 typlen;
    bool typbyval;
    get_typlenbyval(c->remote_typid, &typlen, &typbyval);
    Datum remote = internal_datum(e, c, bytes, typlen, typbyval);
    Oid out;
    bool varlena;
    getTypeOutputInfo(c->remote_typid, &out, &varlena);
    return input_local(e, c, att, OidOutputFunctionCall(out, remote));
}

}  // namespace

void convert_tuple(RelMapEntry* e, TupleDesc desc, const core::TupleData& tuple,
                   bool allow_unchanged, Datum* values, bool* nulls, bool* sent) {
    if (static_cast<int>(tuple.columns.size()) != e->nremote) {
        ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                        errmsg("tuple for remote relation \"%s.%s\" has %d columns, its RELATION "
                               "message announced %d",
                               e->nspname, e->relname, static_cast<int>(tuple.columns.size()),
                               e->nremote)));
    }
    for (int i = 0; i < e->nremote; i++) {
        const core::ColumnValue& v = tuple.columns[i];
        RemoteColumn* c = &e->columns[i];
        if (v.kind == core::ColumnKind::Unchanged) {
            if (!allow_unchanged) {
                bad_value(e, c,
                          "an unchanged TOAST value is only valid in the new row of an UPDATE");
            }
            continue;
        }
        if (c->local_att == 0) {
            if (c->missing) {
                note_missing_column_value(e, c, v.kind == core::ColumnKind::Null);
            }
            continue;  // generated on the subscriber, or missing here
        }
        int k = c->local_att - 1;
        Form_pg_attribute att = TupleDescAttr(desc, k);
        switch (v.kind) {
            case core::ColumnKind::Null:
                values[k] = (Datum)0;
                nulls[k] = true;
                break;
            case core::ColumnKind::Text:
                values[k] = input_local(e, c, att, v.bytes.c_str());
                nulls[k] = false;
                break;
            case core::ColumnKind::Binary:
                values[k] = binary_value(e, c, att, v.bytes);
                nulls[k] = false;
                break;
            case core::ColumnKind::Internal:
                values[k] = internal_value(e, c, att, v.bytes);
                nulls[k] = false;
                break;
            case core::ColumnKind::Unchanged:
                break;
        }
        sent[k] = true;
    }
}

char* describe_slot(TupleTableSlot* slot, const bool* mask) {
    constexpr int kMaxValueChars = 40;
    TupleDesc desc = slot->tts_tupleDescriptor;
    slot_getallattrs(slot);
    StringInfoData out;
    initStringInfo(&out);
    appendStringInfoChar(&out, '(');
    bool first = true;
    for (int k = 0; k < desc->natts; k++) {
        Form_pg_attribute att = TupleDescAttr(desc, k);
        if (att->attisdropped || (mask != nullptr && !mask[k])) {
            continue;
        }
        if (!first) {
            appendStringInfoString(&out, ", ");
        }
        first = false;
        appendStringInfo(&out, "%s=", NameStr(att->attname));
        if (slot->tts_isnull[k]) {
            appendStringInfoString(&out, "null");
            continue;
        }
        Oid fn;
        bool varlena;
        getTypeOutputInfo(att->atttypid, &fn, &varlena);
        char* text = OidOutputFunctionCall(fn, slot->tts_values[k]);
        int len = static_cast<int>(strlen(text));
        if (len > kMaxValueChars) {
            len = pg_mbcliplen(text, len, kMaxValueChars);
            appendBinaryStringInfo(&out, text, len);
            appendStringInfoString(&out, "...");
        } else {
            appendStringInfoString(&out, text);
        }
    }
    appendStringInfoChar(&out, ')');
    return out.data;
}

}  // namespace spock::apply::detail
