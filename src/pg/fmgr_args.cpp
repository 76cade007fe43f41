#include "spock/pg/fmgr_args.hpp"

#include "spock/core/text_array.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <catalog/pg_type.h>
#include <funcapi.h>
#include <utils/array.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/tuplestore.h>
}

namespace spock::pg {

void require_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    if (PG_ARGISNULL(n)) {
        throw core::Error(core::sqlstate::kNullValueNotAllowed,
                          std::string(argname) + " must not be NULL", {},
                          std::string("Pass a value for ") + argname + ".");
    }
}

std::string name_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    require_arg(fcinfo, n, argname);
    return NameStr(*PG_GETARG_NAME(n));
}

SqlValue opt_text_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return std::nullopt;
    }
    char* s = pg_call([fcinfo, n] { return text_to_cstring(PG_GETARG_TEXT_PP(n)); });
    std::string out(s);
    pfree(s);
    return out;
}

std::string text_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    require_arg(fcinfo, n, argname);
    return *opt_text_arg(fcinfo, n);
}

bool bool_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    require_arg(fcinfo, n, argname);
    return PG_GETARG_BOOL(n);
}

std::optional<bool> opt_bool_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return std::nullopt;
    }
    return PG_GETARG_BOOL(n);
}

Oid oid_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    require_arg(fcinfo, n, argname);
    return PG_GETARG_OID(n);
}

std::optional<Oid> opt_oid_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return std::nullopt;
    }
    return PG_GETARG_OID(n);
}

SqlValue arg_as_text(FunctionCallInfo fcinfo, int n, Oid type) {
    if (PG_ARGISNULL(n)) {
        return std::nullopt;
    }
    Datum value = PG_GETARG_DATUM(n);
    char* s = pg_call([type, value] {
        Oid output;
        bool varlena;
        getTypeOutputInfo(type, &output, &varlena);
        return OidOutputFunctionCall(output, value);
    });
    std::string out(s);
    pfree(s);
    return out;
}

std::optional<std::vector<std::string>> opt_text_array_arg(FunctionCallInfo fcinfo, int n,
                                                           const char* argname) {
    SqlValue literal = arg_as_text(fcinfo, n, TEXTARRAYOID);
    if (!literal) {
        return std::nullopt;
    }
    std::vector<std::string> out;
    for (SqlValue& v : core::from_array_literal(*literal)) {
        if (!v) {
            throw core::Error(core::sqlstate::kNullValueNotAllowed,
                              std::string(argname) + " must not contain NULL elements");
        }
        out.push_back(std::move(*v));
    }
    return out;
}

std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* argname) {
    require_arg(fcinfo, n, argname);
    return *opt_text_array_arg(fcinfo, n, argname);
}

Datum text_datum(const std::string& s) {
    const char* p = s.c_str();
    return pg_call([p] { return CStringGetTextDatum(p); });
}

namespace {

// Fills a char* array pointing into `values`, NULLs as nullptr.
std::vector<char*> cstrings(const SqlRow& values) {
    std::vector<char*> out;
    out.reserve(values.size());
    for (const SqlValue& v : values) {
        out.push_back(v ? const_cast<char*>(v->c_str()) : nullptr);
    }
    return out;
}

}  // namespace

Datum record_result(FunctionCallInfo fcinfo, const SqlRow& values) {
    std::vector<char*> cs = cstrings(values);
    char** ptr = cs.data();
    int count = static_cast<int>(cs.size());
    return pg_call([fcinfo, ptr, count] {
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE) {
            elog(ERROR, "function returning a record called in a context that cannot take one");
        }
        if (desc->natts != count) {
            elog(ERROR, "result has %d columns, function declares %d", count, desc->natts);
        }
        desc = BlessTupleDesc(desc);
        AttInMetadata* meta = TupleDescGetAttInMetadata(desc);
        HeapTuple tuple = BuildTupleFromCStrings(meta, ptr);
        return HeapTupleGetDatum(tuple);
    });
}

Datum rows_result(FunctionCallInfo fcinfo, const std::vector<SqlRow>& rows) {
    pg_call([fcinfo] { InitMaterializedSRF(fcinfo, 0); });
    auto* rsinfo = reinterpret_cast<ReturnSetInfo*>(fcinfo->resultinfo);
    for (const SqlRow& row : rows) {
        std::vector<char*> cs = cstrings(row);
        char** ptr = cs.data();
        int count = static_cast<int>(cs.size());
        pg_call([rsinfo, ptr, count] {
            if (rsinfo->setDesc->natts != count) {
                elog(ERROR, "row has %d columns, function declares %d", count,
                     rsinfo->setDesc->natts);
            }
            AttInMetadata* meta = TupleDescGetAttInMetadata(rsinfo->setDesc);
            HeapTuple tuple = BuildTupleFromCStrings(meta, ptr);
            tuplestore_puttuple(rsinfo->setResult, tuple);
        });
    }
    return (Datum)0;
}

}  // namespace spock::pg
