// Writing spock.exception_log. See exception_log.hpp.
#include "exception_log.hpp"

#include "apply_internal.hpp"

extern "C" {
#include <access/transam.h>
#include <catalog/pg_type.h>
#include <executor/spi.h>
#include <lib/stringinfo.h>
#include <miscadmin.h>
#include <utils/builtins.h>
#include <utils/json.h>
#include <utils/lsyscache.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

SPIPlanPtr insert_plan = nullptr;
int32 command_counter = 0;

Datum text_or_null(const char* s, char* null) {
    *null = s != nullptr ? ' ' : 'n';
    return s != nullptr ? CStringGetTextDatum(s) : (Datum)0;
}

// The text of a built-in remote type's binary or internal value, or nullptr.
char* remote_value_text(const detail::RemoteColumn* c, const core::ColumnValue& v) {
    if (c->remote_typid >= FirstNormalObjectId) {
        return nullptr;  // a user type: its OID means something else here
    }
    Oid out;
    bool varlena;
    getTypeOutputInfo(c->remote_typid, &out, &varlena);
    if (v.kind == core::ColumnKind::Binary) {
        Oid recv, ioparam;
        getTypeBinaryInputInfo(c->remote_typid, &recv, &ioparam);
        StringInfoData buf;
        initStringInfo(&buf);
        appendBinaryStringInfo(&buf, v.bytes.data(), static_cast<int>(v.bytes.size()));
        Datum d = OidReceiveFunctionCall(recv, &buf, ioparam, c->remote_typmod);
        return OidOutputFunctionCall(out, d);
    }
    // Internal: the datum image of a built-in type.
    int16 typlen;
    bool typbyval;
    get_typlenbyval(c->remote_typid, &typlen, &typbyval);
    if (typbyval) {
        if (typlen <= 0 || v.bytes.size() != static_cast<size_t>(typlen)) {
            return nullptr;
        }
        union {
            Datum align;
            char bytes[sizeof(Datum)];
        } u;
        u.align = 0;
        memcpy(u.bytes, v.bytes.data(), v.bytes.size());
        return OidOutputFunctionCall(out, fetch_att(u.bytes, true, typlen));
    }
    if (typlen == -1 && v.bytes.size() >= 1) {
        char* p = static_cast<char*>(palloc(v.bytes.size()));
        memcpy(p, v.bytes.data(), v.bytes.size());
        if (VARATT_IS_EXTERNAL(p) || VARSIZE_ANY(p) != v.bytes.size()) {
            return nullptr;
        }
        return OidOutputFunctionCall(out, PointerGetDatum(p));
    }
    if (typlen > 0 && v.bytes.size() == static_cast<size_t>(typlen)) {
        char* p = static_cast<char*>(palloc(v.bytes.size()));
        memcpy(p, v.bytes.data(), v.bytes.size());
        return OidOutputFunctionCall(out, PointerGetDatum(p));
    }
    return nullptr;
}

}  // namespace

int32 next_command_counter() {
    if (command_counter == 0) {
        // Seconds since 2000 modulo a billion: distinct from what an earlier worker process
        // used for the same transaction (the retry time differs as well).
        command_counter = static_cast<int32>((GetCurrentTimestamp() / USECS_PER_SEC) % 1000000000);
    }
    if (command_counter == PG_INT32_MAX) {
        command_counter = 0;
    }
    return ++command_counter;
}

void insert_exception_log(const ExceptionLogEntry& e) {
    constexpr int kArgs = 15;
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    if (insert_plan == nullptr) {
        Oid types[kArgs] = {OIDOID,  TIMESTAMPTZOID, INT4OID, INT8OID,        TEXTOID,
                            TEXTOID, TEXTOID,        TEXTOID, TEXTOID,        TEXTOID,
                            TEXTOID, TEXTOID,        OIDOID,  TIMESTAMPTZOID, TEXTOID};
        SPIPlanPtr plan = SPI_prepare(
            "INSERT INTO spock.exception_log (remote_origin, remote_commit_ts, command_counter, "
            "  retry_errored_at, remote_xid, table_schema, table_name, operation, "
            "  remote_old_tup, remote_new_tup, ddl_statement, ddl_user, error_message, "
            "  local_origin, local_commit_ts, local_tup) "
            "VALUES ($1, $2, $3, now(), $4, $5, $6, "
            "  $7, $8::jsonb, $9::jsonb, $10, $11, $12, $13, $14, $15::jsonb)",
            kArgs, types);
        if (plan == nullptr) {
            elog(ERROR, "could not prepare the insert into spock.exception_log: %s",
                 SPI_result_code_string(SPI_result));
        }
        SPI_keepplan(plan);
        insert_plan = plan;
    }
    Datum values[kArgs];
    char nulls[kArgs];
    memset(nulls, ' ', sizeof nulls);
    values[0] = ObjectIdGetDatum(e.remote_origin);
    values[1] = TimestampTzGetDatum(e.remote_commit_ts);
    values[2] = Int32GetDatum(e.command_counter);
    values[3] = Int64GetDatum(e.remote_xid);
    values[4] = text_or_null(e.table_schema, &nulls[4]);
    values[5] = text_or_null(e.table_name, &nulls[5]);
    values[6] = text_or_null(e.operation, &nulls[6]);
    values[7] = text_or_null(e.remote_old_json, &nulls[7]);
    values[8] = text_or_null(e.remote_new_json, &nulls[8]);
    values[9] = text_or_null(e.ddl_statement, &nulls[9]);
    values[10] = text_or_null(e.ddl_user, &nulls[10]);
    values[11] = text_or_null(e.error_message, &nulls[11]);
    values[12] = ObjectIdGetDatum(e.local_origin);
    nulls[12] = e.local_origin_known ? ' ' : 'n';
    values[13] = TimestampTzGetDatum(e.local_commit_ts);
    nulls[13] = e.local_origin_known ? ' ' : 'n';
    values[14] = text_or_null(e.local_tup_json, &nulls[14]);
    int rc = SPI_execute_plan(insert_plan, values, nulls, false, 0);
    if (rc != SPI_OK_INSERT) {
        elog(ERROR, "could not insert into spock.exception_log: %s", SPI_result_code_string(rc));
    }
    SPI_finish();
}

char* remote_tuple_json(core::RelId relid, const core::TupleData& tuple) {
    detail::RelMapEntry* e = detail::find_mapped_relation(relid);
    if (e == nullptr || static_cast<int>(tuple.columns.size()) != e->nremote) {
        return nullptr;
    }
    StringInfoData out;
    initStringInfo(&out);
    appendStringInfoChar(&out, '[');
    for (int i = 0; i < e->nremote; i++) {
        const detail::RemoteColumn* c = &e->columns[i];
        const core::ColumnValue& v = tuple.columns[i];
        if (i > 0) {
            appendStringInfoString(&out, ", ");
        }
        appendStringInfoString(&out, "{\"attname\": ");
        escape_json(&out, c->name);
        appendStringInfoString(&out, ", \"atttype\": ");
        char* type =
            c->remote_typid < FirstNormalObjectId
                ? format_type_extended(c->remote_typid, c->remote_typmod, FORMAT_TYPE_ALLOW_INVALID)
                : nullptr;
        if (type != nullptr) {
            escape_json(&out, type);
        } else {
            appendStringInfoString(&out, "null");
        }
        appendStringInfoString(&out, ", \"value\": ");
        char* text = nullptr;
        if (v.kind == core::ColumnKind::Text) {
            text = pnstrdup(v.bytes.data(), v.bytes.size());
        } else if (v.kind == core::ColumnKind::Binary || v.kind == core::ColumnKind::Internal) {
            text = remote_value_text(c, v);
        }
        if (text != nullptr) {
            escape_json(&out, text);
        } else {
            appendStringInfoString(&out, "null");
        }
        appendStringInfoChar(&out, '}');
    }
    appendStringInfoChar(&out, ']');
    return out.data;
}

}  // namespace spock::apply
