// See table_shape.hpp.
#include "spock/pg/table_shape.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <access/htup_details.h>
#include <catalog/namespace.h>
#include <catalog/pg_attribute.h>
#include <catalog/pg_class.h>
#include <storage/lmgr.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
#include <utils/syscache.h>
}

namespace spock::pg {
namespace {

struct RawColumns {
    bool found;
    int n;
    char** names;
    char** types;
    bool* not_null;
};

// Plain glue: palloc'd arrays, raises only on a broken catalog.
void read_columns(Oid relid, RawColumns* out) {
    HeapTuple ct = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
    if (!HeapTupleIsValid(ct)) {
        out->found = false;
        return;
    }
    int natts = reinterpret_cast<Form_pg_class>(GETSTRUCT(ct))->relnatts;
    ReleaseSysCache(ct);
    out->found = true;
    out->n = 0;
    out->names = static_cast<char**>(palloc(sizeof(char*) * Max(natts, 1)));
    out->types = static_cast<char**>(palloc(sizeof(char*) * Max(natts, 1)));
    out->not_null = static_cast<bool*>(palloc(sizeof(bool) * Max(natts, 1)));
    for (int att = 1; att <= natts; att++) {
        HeapTuple at = SearchSysCache2(ATTNUM, ObjectIdGetDatum(relid), Int16GetDatum(att));
        if (!HeapTupleIsValid(at)) {
            continue;
        }
        auto* a = reinterpret_cast<Form_pg_attribute>(GETSTRUCT(at));
        if (!a->attisdropped) {
            out->names[out->n] = pstrdup(NameStr(a->attname));
            out->types[out->n] = format_type_with_typemod(a->atttypid, a->atttypmod);
            out->not_null[out->n] = a->attnotnull;
            out->n++;
        }
        ReleaseSysCache(at);
    }
}

}  // namespace

std::optional<std::vector<core::ColumnShape>> table_shape(Oid relid) {
    RawColumns raw{false, 0, nullptr, nullptr, nullptr};
    RawColumns* out = &raw;
    pg_call([relid, out] { read_columns(relid, out); });
    if (!raw.found) {
        return std::nullopt;
    }
    std::vector<core::ColumnShape> cols;
    for (int i = 0; i < raw.n; i++) {
        cols.push_back({raw.names[i], raw.types[i], raw.not_null[i]});
    }
    return cols;
}

std::optional<std::vector<core::ColumnShape>> table_shape(const std::string& nspname,
                                                          const std::string& relname,
                                                          int lockmode) {
    const char* nsp = nspname.c_str();
    const char* rel = relname.c_str();
    Oid relid = pg_call([nsp, rel, lockmode] {
        Oid ns = get_namespace_oid(nsp, true);
        Oid r = OidIsValid(ns) ? get_relname_relid(rel, ns) : InvalidOid;
        if (OidIsValid(r) && lockmode != NoLock) {
            LockRelationOid(r, lockmode);
            // It may have been dropped or renamed while we waited.
            r = get_relname_relid(rel, ns);
        }
        return r;
    });
    if (!OidIsValid(relid)) {
        return std::nullopt;
    }
    return table_shape(relid);
}

}  // namespace spock::pg
