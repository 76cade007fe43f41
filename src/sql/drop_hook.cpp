// Keeps replication-set membership consistent when tables, sequences and columns change:
//  * a dropped table or sequence leaves every set, with a NOTICE, and its spock.depend and
//    sequence_state rows go with it;
//  * a column that a set's column list or row filter uses cannot be dropped;
//  * a renamed column is renamed in the column lists (they hold names), and a row filter that
//    uses an altered column is compiled again, so that it never carries a stale type.
// So no catalog row points at a relation or column that is gone or has changed (reference §2
// "depend", §1.1 step 3).
#include <algorithm>
#include <string>
#include <vector>

#include "spock/core/text_array.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/row_filter.hpp"
#include "spock/pg/spi.hpp"
#include "spock/sql/drop_hook.hpp"

extern "C" {
#include <access/sysattr.h>
#include <catalog/namespace.h>
#include <catalog/objectaccess.h>
#include <catalog/pg_authid.h>
#include <catalog/pg_class.h>
#include <catalog/pg_type.h>
#include <commands/extension.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <nodes/bitmapset.h>
#include <optimizer/optimizer.h>
#include <utils/builtins.h>
#include <utils/guc.h>
#include <utils/lsyscache.h>
}

namespace spock::sql {
namespace {

object_access_hook_type previous_hook = nullptr;

// Except for refresh_members, the code below is plain PostgreSQL code: it runs under the guard
// and owns no C++ objects.

const char* qualified_name(Oid relid) {
    return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
                                      get_rel_name(relid));
}

bool filter_uses_column(const char* filter, AttrNumber attnum) {
    Bitmapset* attrs = nullptr;
    pull_varattnos(static_cast<Node*>(stringToNode(filter)), 1, &attrs);
    return bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, attrs);
}

// Removes a dropped table or sequence from every set.
void forget_relation(Oid relid, char relkind) {
    Datum arg = ObjectIdGetDatum(relid);
    Oid argtype = OIDOID;
    int rc = SPI_execute_with_args(
        "WITH t AS (DELETE FROM spock.replication_set_table WHERE set_reloid = $1 "
        "           RETURNING set_id), "
        "     s AS (DELETE FROM spock.replication_set_seq WHERE set_seqoid = $1 "
        "           RETURNING set_id), "
        "     d AS (DELETE FROM spock.depend WHERE refclassid = 'pg_class'::regclass "
        "           AND refobjid = $1), "
        "     q AS (DELETE FROM spock.sequence_state WHERE seqoid = $1), "
        "     x AS (DELETE FROM spock.replication_set_partition_exclusion "
        "           WHERE set_reloid = $1) "
        "SELECT count(*), string_agg('\"' || r.set_name || '\"', ', ' ORDER BY r.set_name) "
        "FROM spock.replication_set r WHERE r.set_id IN (SELECT set_id FROM t UNION ALL "
        "                                                SELECT set_id FROM s)",
        1, &argtype, &arg, nullptr, false, 0);
    if (rc != SPI_OK_SELECT || SPI_processed != 1) {
        elog(ERROR, "could not remove relation %u from replication sets: %s", relid,
             SPI_result_code_string(rc));
    }
    bool isnull;
    int64 count =
        DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
    if (count > 0) {
        char* sets = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
        ereport(NOTICE, (errmsg("%s %s removed from replication %s %s",
                                relkind == RELKIND_SEQUENCE ? "sequence" : "table",
                                qualified_name(relid), count == 1 ? "set" : "sets", sets)));
    }
}

// Refuses to drop a column that a set publishes by name or filters on: the column list would
// name a column that no longer exists and the stored filter would read a dropped attribute.
void check_column(Oid relid, AttrNumber attnum) {
    char* attname = get_attname(relid, attnum, true);
    if (attname == nullptr) {
        return;
    }
    Oid argtypes[2] = {OIDOID, TEXTOID};
    Datum args[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(attname)};
    int rc = SPI_execute_with_args(
        "SELECT r.set_name::text, $2 = ANY (t.set_att_list), t.set_row_filter::text "
        "FROM spock.replication_set_table t JOIN spock.replication_set r "
        "  ON r.set_id = t.set_id "
        "WHERE t.set_reloid = $1 AND (t.set_att_list IS NOT NULL OR t.set_row_filter IS NOT NULL) "
        "ORDER BY r.set_name",
        2, argtypes, args, nullptr, true, 0);
    if (rc != SPI_OK_SELECT) {
        elog(ERROR, "could not read the replication sets of relation %u: %s", relid,
             SPI_result_code_string(rc));
    }
    for (uint64 i = 0; i < SPI_processed; i++) {
        HeapTuple tuple = SPI_tuptable->vals[i];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool isnull;
        bool in_list = DatumGetBool(SPI_getbinval(tuple, desc, 2, &isnull)) && !isnull;
        char* filter = SPI_getvalue(tuple, desc, 3);
        bool in_filter = filter != nullptr && filter_uses_column(filter, attnum);
        if (in_list || in_filter) {
            ereport(ERROR,
                    (errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
                     errmsg("cannot drop column \"%s\" of table %s because replication set "
                            "\"%s\" uses it",
                            attname, qualified_name(relid), SPI_getvalue(tuple, desc, 1)),
                     errdetail(in_list ? "The column is in the set's column list for the table."
                                       : "The set's row filter for the table refers to the "
                                         "column."),
                     errhint("Remove the table from the replication set, or add it again "
                             "without this column, first.")));
        }
    }
}

// After a column of a member table was altered (renamed, retyped, ...). C++ with the SPI
// helpers: errors travel as exceptions up to the guard, and the frames below own nothing.
void refresh_members(Oid relid, AttrNumber attnum) {
    using pg::SqlRow;
    std::string rel = std::to_string(relid);
    auto rows = pg::spi_query(
        "SELECT t.set_id, t.set_att_list, t.set_row_filter::text, "
        "       pg_get_expr(t.set_row_filter, t.set_reloid::oid), "
        "       (SELECT array_agg(a.attname::text) FROM pg_attribute a "
        "        WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped) "
        "FROM spock.replication_set_table t "
        "WHERE t.set_reloid::oid = $1::oid "
        "  AND (t.set_att_list IS NOT NULL OR t.set_row_filter IS NOT NULL)",
        {rel});
    if (rows.empty()) {
        return;
    }
    char* name = pg::pg_call([relid, attnum] { return get_attname(relid, attnum, true); });
    if (name == nullptr) {
        return;
    }
    std::string new_name(name);
    for (const SqlRow& r : rows) {
        const pg::SqlValue& set_id = r[0];
        if (r[1]) {
            // Column lists hold names. The list was valid before this command, so after a
            // rename exactly one of its names is gone: the altered column's old name.
            std::vector<core::OptionalText> list = core::from_array_literal(*r[1]);
            std::vector<core::OptionalText> live;
            if (r[4]) {
                live = core::from_array_literal(*r[4]);
            }
            std::vector<core::OptionalText*> missing;
            for (auto& c : list) {
                if (std::find(live.begin(), live.end(), c) == live.end()) {
                    missing.push_back(&c);
                }
            }
            if (missing.size() == 1 &&
                std::find(list.begin(), list.end(), core::OptionalText(new_name)) == list.end()) {
                *missing[0] = new_name;
                pg::spi_exec(
                    "UPDATE spock.replication_set_table SET set_att_list = $3::text[] "
                    "WHERE set_id = $1::oid AND set_reloid::oid = $2::oid",
                    {set_id, rel, core::to_array_literal(list)});
            }
        }
        if (r[2]) {
            const char* tree = r[2]->c_str();
            if (pg::pg_call([tree, attnum] { return filter_uses_column(tree, attnum); })) {
                // Compiled again from its text, now that the column has its new type.
                std::string compiled = pg::compile_row_filter(relid, *r[3]);
                pg::spi_exec_typed(
                    "UPDATE spock.replication_set_table SET set_row_filter = $3 "
                    "WHERE set_id = $1::oid AND set_reloid::oid = $2::oid",
                    {{set_id, TEXTOID}, {rel, TEXTOID}, {compiled, PG_NODE_TREEOID}});
            }
        }
    }
}

// Whether changes to this relation concern spock at all.
bool may_be_member(Oid relid, char relkind) {
    if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
        relkind != RELKIND_SEQUENCE) {
        return false;
    }
    if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP) {
        return false;  // never a member (temporary relations are dropped at every session end)
    }
    Oid spock_ns = get_namespace_oid("spock", true);
    if (!OidIsValid(spock_ns) || !OidIsValid(get_extension_oid("spock", true))) {
        return false;  // spock is not installed in this database
    }
    return get_rel_namespace(relid) != spock_ns;  // not one of our own tables
}

enum class Event { kDropped, kColumnDropped, kColumnAltered };

void on_change(Event event, Oid relid, AttrNumber attnum) {
    char relkind = get_rel_relkind(relid);
    if ((event != Event::kDropped && relkind == RELKIND_SEQUENCE) ||
        !may_be_member(relid, relkind)) {
        return;
    }

    // Whoever changes the relation need not have any right on spock's catalog, so the
    // catalog work runs as the bootstrap superuser, restricted, and with a search_path that no
    // user schema can take over (an operator of the user's must not run as superuser). An
    // error restores both through the transaction abort.
    Oid save_userid;
    int save_sec_context;
    GetUserIdAndSecContext(&save_userid, &save_sec_context);
    SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
                                                      SECURITY_RESTRICTED_OPERATION);
    int save_nestlevel = NewGUCNestLevel();
    set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION,
                      GUC_ACTION_SAVE, true, 0, false);
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    switch (event) {
        case Event::kDropped:
            forget_relation(relid, relkind);
            break;
        case Event::kColumnDropped:
            check_column(relid, attnum);
            break;
        case Event::kColumnAltered:
            refresh_members(relid, attnum);
            break;
    }
    SPI_finish();
    AtEOXact_GUC(true, save_nestlevel);
    SetUserIdAndSecContext(save_userid, save_sec_context);
}

void object_access(ObjectAccessType access, Oid classid, Oid objectid, int subid, void* arg) {
    if (previous_hook != nullptr) {
        previous_hook(access, classid, objectid, subid, arg);
    }
    if (classid != RelationRelationId || subid < 0 || !IsTransactionState()) {
        return;
    }
    auto attnum = static_cast<AttrNumber>(subid);
    if (access == OAT_DROP) {
        Event event = subid == 0 ? Event::kDropped : Event::kColumnDropped;
        pg::guarded([event, objectid, attnum] { on_change(event, objectid, attnum); });
    } else if (access == OAT_POST_ALTER && subid > 0) {
        pg::guarded([objectid, attnum] { on_change(Event::kColumnAltered, objectid, attnum); });
    }
}

}  // namespace

void install_drop_hook() {
    previous_hook = object_access_hook;
    object_access_hook = object_access;
}

}  // namespace spock::sql
