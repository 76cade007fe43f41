// Keeps replication-set membership consistent when tables and sequences are dropped: the
// membership rows and their spock.depend entries go with the relation, with a NOTICE, so no
// catalog row ever points at a dropped relation (reference §2 "depend", §1.1 step 3).
#include "spock/pg/guard.hpp"
#include "spock/sql/drop_hook.hpp"

extern "C" {
#include <catalog/namespace.h>
#include <catalog/objectaccess.h>
#include <catalog/pg_class.h>
#include <commands/extension.h>
#include <executor/spi.h>
#include <lib/stringinfo.h>
#include <miscadmin.h>
#include <utils/builtins.h>
#include <utils/lsyscache.h>
}

namespace spock::sql {
namespace {

object_access_hook_type previous_hook = nullptr;

// Plain PostgreSQL code: runs under the guard and owns no C++ objects.
void forget_dropped_relation(Oid relid) {
    Oid spock_ns = get_namespace_oid("spock", true);
    if (!OidIsValid(spock_ns) || !OidIsValid(get_extension_oid("spock", true))) {
        return;  // spock is not installed in this database
    }
    if (get_rel_namespace(relid) == spock_ns) {
        return;  // one of our own tables, e.g. during DROP EXTENSION
    }
    char relkind = get_rel_relkind(relid);
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
        relkind != RELKIND_SEQUENCE) {
        return;
    }
    Datum arg = ObjectIdGetDatum(relid);
    Oid argtype = OIDOID;
    SPI_connect();
    int rc = SPI_execute_with_args(
        "WITH t AS (DELETE FROM spock.replication_set_table WHERE set_reloid = $1 "
        "           RETURNING set_id), "
        "     s AS (DELETE FROM spock.replication_set_seq WHERE set_seqoid = $1 "
        "           RETURNING set_id), "
        "     d AS (DELETE FROM spock.depend WHERE refclassid = 'pg_class'::regclass "
        "           AND refobjid = $1), "
        "     q AS (DELETE FROM spock.sequence_state WHERE seqoid = $1) "
        "SELECT string_agg(quote_ident(r.set_name), ', ' ORDER BY r.set_name) "
        "FROM spock.replication_set r WHERE r.set_id IN (SELECT set_id FROM t UNION ALL "
        "                                                SELECT set_id FROM s)",
        1, &argtype, &arg, nullptr, false, 0);
    if (rc == SPI_OK_SELECT && SPI_processed == 1) {
        char* sets = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
        if (sets != nullptr) {
            ereport(NOTICE, (errmsg("%s %s removed from replication sets %s",
                                    relkind == RELKIND_SEQUENCE ? "sequence" : "table",
                                    get_rel_name(relid), sets)));
        }
    }
    SPI_finish();
}

void object_access(ObjectAccessType access, Oid classid, Oid objectid, int subid, void* arg) {
    if (previous_hook != nullptr) {
        previous_hook(access, classid, objectid, subid, arg);
    }
    if (access != OAT_DROP || classid != RelationRelationId || subid != 0 ||
        !IsTransactionState()) {
        return;
    }
    pg::guarded([objectid] { forget_dropped_relation(objectid); });
}

}  // namespace

void install_drop_hook() {
    previous_hook = object_access_hook;
    object_access_hook = object_access;
}

}  // namespace spock::sql
