// A ProcessUtility hook that records every local TRUNCATE of a permanent table in
// spock.truncate_horizon, in the truncating transaction, so that the row's commit time is the
// TRUNCATE's (the apply worker reads it from the row's xmin; truncated_at stays NULL). Remote
// TRUNCATEs are applied without ProcessUtility and recorded by the apply worker; a table
// resync's TRUNCATE (under a replication origin) is not recorded. The tables are
// those the statement names, their partitions or children (unless ONLY), and with CASCADE the
// tables that reference them, as ExecuteTruncate finds them.
#include "spock/sql/truncate_capture.hpp"

#include "spock/pg/guard.hpp"
#include "spock/pg/internal_write.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/xact.h>
#include <catalog/heap.h>
#include <catalog/namespace.h>
#include <catalog/pg_authid.h>
#include <catalog/pg_inherits.h>
#include <catalog/pg_type.h>
#include <commands/extension.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <nodes/parsenodes.h>
#include <replication/origin.h>
#include <tcop/utility.h>
#include <utils/guc.h>
#include <utils/lsyscache.h>
}

namespace spock::sql {
namespace {

ProcessUtility_hook_type previous_hook = nullptr;

List* truncated_relations(TruncateStmt* stmt) {
    List* relids = NIL;
    ListCell* lc;
    foreach (lc, stmt->relations) {
        auto* rv = static_cast<RangeVar*>(lfirst(lc));
        Oid relid = RangeVarGetRelid(rv, NoLock, true);  // locked by the TRUNCATE
        if (!OidIsValid(relid)) {
            continue;
        }
        relids = list_append_unique_oid(relids, relid);
        if (rv->inh) {
            List* children = find_all_inheritors(relid, NoLock, nullptr);
            relids = list_concat_unique_oid(relids, children);
        }
    }
    if (stmt->behavior == DROP_CASCADE) {
        for (;;) {
            List* referencing = heap_truncate_find_FKs(relids);
            int before = list_length(relids);
            relids = list_concat_unique_oid(relids, referencing);
            if (list_length(relids) == before) {
                break;
            }
        }
    }
    return relids;
}

void record_local_truncate(TruncateStmt* stmt) {
    // A TRUNCATE made on behalf of replication (a table resync, under the subscription's
    // replication origin) is not one of this node's own.
    if (!IsTransactionState() || replorigin_session_origin != InvalidRepOriginId ||
        !OidIsValid(get_extension_oid("spock", true))) {
        return;
    }
    Oid nsp = get_namespace_oid("spock", true);
    if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid("truncate_horizon", nsp))) {
        return;
    }
    List* relids = truncated_relations(stmt);
    // The user who truncates need not be able to write spock's tables.
    spock::pg::InternalWrite w;
    spock::pg::begin_internal_write(&w);
    ListCell* lc;
    foreach (lc, relids) {
        Oid relid = lfirst_oid(lc);
        if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP) {
            continue;
        }
        Oid types[1] = {OIDOID};
        Datum values[1] = {ObjectIdGetDatum(relid)};
        int rc = SPI_execute_with_args(
            "INSERT INTO spock.truncate_horizon (relid, truncated_at, origin_node) "
            "VALUES ($1, NULL, NULL) ON CONFLICT (relid) DO UPDATE SET truncated_at = NULL, "
            "origin_node = NULL",
            1, types, values, nullptr, false, 0);
        if (rc != SPI_OK_INSERT) {
            elog(ERROR, "could not record the TRUNCATE in spock.truncate_horizon: %s",
                 SPI_result_code_string(rc));
        }
    }
    spock::pg::end_internal_write(&w);
}

void process_utility(PlannedStmt* pstmt, const char* query, bool read_only_tree,
                     ProcessUtilityContext context, ParamListInfo params, QueryEnvironment* env,
                     DestReceiver* dest, QueryCompletion* qc) {
    if (previous_hook != nullptr) {
        previous_hook(pstmt, query, read_only_tree, context, params, env, dest, qc);
    } else {
        standard_ProcessUtility(pstmt, query, read_only_tree, context, params, env, dest, qc);
    }
    if (IsA(pstmt->utilityStmt, TruncateStmt)) {
        auto* stmt = reinterpret_cast<TruncateStmt*>(pstmt->utilityStmt);
        pg::guarded([stmt] { record_local_truncate(stmt); });
    }
}

}  // namespace

void install_truncate_capture() {
    previous_hook = ProcessUtility_hook;
    ProcessUtility_hook = process_utility;
}

}  // namespace spock::sql
