// A ProcessUtility hook for ALTER TABLE ... DETACH PARTITION. A partition is replicated as part
// of its parent either by inheritance (the output plugin, src/catalog/decoding.cpp) or by rows
// of its own that repset_add_table / repset_add_partition copied from the parent. Once it is
// detached it has no parent to inherit from, and this hook removes those rows (for it and its
// own partitions, in every set that holds the former parent or one of its ancestors), with
// their spock.depend rows and any exclusions, in the detaching transaction. So the detached
// table stops being replicated from the detach on; a user who wants it replicated on its own
// adds it with repset_add_table. The hook also runs for a DETACH that replicate_ddl or DDL
// replication applies on a subscriber, whose own sets then change the same way.
#include "spock/sql/partition_detach.hpp"

#include "spock/pg/guard.hpp"
#include "spock/pg/internal_write.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/xact.h>
#include <catalog/namespace.h>
#include <catalog/pg_authid.h>
#include <catalog/pg_inherits.h>
#include <catalog/pg_type.h>
#include <commands/extension.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <nodes/parsenodes.h>
#include <tcop/utility.h>
#include <utils/array.h>
#include <utils/guc.h>
#include <utils/inval.h>
#include <utils/lsyscache.h>
}

namespace spock::sql {
namespace {

ProcessUtility_hook_type previous_hook = nullptr;

// Plain PostgreSQL code below: it runs under the guard and owns no C++ objects.

struct Detach {
    Oid parent;
    Oid partition;
};

// The (parent, partition) pairs of the DETACH commands of an ALTER TABLE, resolved before it
// runs (both still exist afterwards). Missing relations are left to ALTER TABLE to report.
List* detaches_of(AlterTableStmt* stmt) {
    List* out = NIL;
    ListCell* lc;
    foreach (lc, stmt->cmds) {
        auto* cmd = static_cast<AlterTableCmd*>(lfirst(lc));
        if (cmd->subtype != AT_DetachPartition || cmd->def == nullptr) {
            continue;
        }
        auto* pcmd = reinterpret_cast<PartitionCmd*>(cmd->def);
        Oid parent = RangeVarGetRelid(stmt->relation, NoLock, true);
        Oid partition = RangeVarGetRelid(pcmd->name, NoLock, true);
        if (!OidIsValid(parent) || !OidIsValid(partition)) {
            continue;
        }
        auto* d = static_cast<Detach*>(palloc(sizeof(Detach)));
        d->parent = parent;
        d->partition = partition;
        out = lappend(out, d);
    }
    return out;
}

bool spock_catalog_present() {
    if (!IsTransactionState() || !OidIsValid(get_extension_oid("spock", true))) {
        return false;
    }
    Oid nsp = get_namespace_oid("spock", true);
    return OidIsValid(nsp) &&
           OidIsValid(get_relname_relid("replication_set_partition_exclusion", nsp));
}

void run(const char* sql, Oid parent, ArrayType* tree) {
    Oid types[2] = {OIDOID, OIDARRAYOID};
    Datum values[2] = {ObjectIdGetDatum(parent), PointerGetDatum(tree)};
    int rc = SPI_execute_with_args(sql, 2, types, values, nullptr, false, 0);
    if (rc < 0) {
        elog(ERROR, "could not take a detached partition out of its replication sets: %s",
             SPI_result_code_string(rc));
    }
}

void forget_detached(List* detaches) {
    // The user who detaches need not be able to write spock's tables.
    spock::pg::InternalWrite w;
    spock::pg::begin_internal_write(&w);
    ListCell* lc;
    foreach (lc, detaches) {
        auto* d = static_cast<Detach*>(lfirst(lc));
        // The detached table and, when it is partitioned itself, its partitions.
        List* tree = find_all_inheritors(d->partition, NoLock, nullptr);
        int n = list_length(tree);
        Datum* elems = static_cast<Datum*>(palloc(sizeof(Datum) * n));
        for (int i = 0; i < n; i++) {
            elems[i] = ObjectIdGetDatum(list_nth_oid(tree, i));
        }
        ArrayType* arr = construct_array(elems, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT);
        // The sets of the former parent and of its ancestors.
        const char* sets =
            "(SELECT p.set_id FROM spock.replication_set_table p "
            " WHERE p.set_reloid::oid = $1 OR p.set_reloid::oid IN "
            "   (SELECT relid FROM pg_catalog.pg_partition_ancestors($1)))";
        run(psprintf("DELETE FROM spock.depend WHERE classid = "
                     "'spock.replication_set_table'::regclass AND objsubid::oid = ANY ($2) "
                     "AND objid IN %s",
                     sets),
            d->parent, arr);
        run(psprintf("DELETE FROM spock.replication_set_table WHERE set_reloid::oid = ANY ($2) "
                     "AND set_id IN %s",
                     sets),
            d->parent, arr);
        run("DELETE FROM spock.replication_set_partition_exclusion "
            "WHERE set_reloid::oid = ANY ($2) AND $1 IS NOT NULL",
            d->parent, arr);
        ListCell* tc;
        foreach (tc, tree) {
            CacheInvalidateRelcacheByRelid(lfirst_oid(tc));
        }
    }
    spock::pg::end_internal_write(&w);
}

void process_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                     DestReceiver* dest, QueryCompletion* qc) {
    List* detaches = NIL;
    if (IsA(pstmt->utilityStmt, AlterTableStmt)) {
        auto* stmt = reinterpret_cast<AlterTableStmt*>(pstmt->utilityStmt);
        pg::guarded([stmt, &detaches] {
            if (spock_catalog_present()) {
                detaches = detaches_of(stmt);
            }
        });
    }
    if (previous_hook != nullptr) {
        previous_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
    } else {
        standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    }
    if (detaches != NIL) {
        pg::guarded([detaches] {
            if (spock_catalog_present()) {
                forget_detached(detaches);
            }
        });
    }
}

}  // namespace

void install_partition_detach_hook() {
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
}

}  // namespace spock::sql
