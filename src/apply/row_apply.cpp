// Applying decoded rows through the executor (reference §6.3).
//
// Each change gets its own EState with one range-table entry and result relation, opened
// indexes, an active snapshot and an after-trigger query; data changes go through core's
// ExecSimpleRelationInsert/Update/Delete, which check constraints, maintain indexes, compute
// generated columns and fire row triggers (under session_replication_role = replica only
// REPLICA and ALWAYS triggers fire). Rows are found through the replica identity index or the
// primary key with a dirty snapshot and locked, or by a sequential scan that compares the
// columns the provider sent when the table has no usable index.
//
// Plain glue: no C++ objects with destructors live in these frames, and PostgreSQL errors
// propagate as ERROR to the apply worker.
#include "apply_internal.hpp"
#include "delete_conflicts.hpp"

#include "spock/pg/gucs.hpp"

extern "C" {
#include <access/genam.h>
#include <access/heapam.h>
#include <access/htup_details.h>
#include <access/table.h>
#include <access/tableam.h>
#include <access/xact.h>
#include <catalog/catalog.h>
#include <catalog/pg_index.h>
#include <catalog/pg_trigger.h>
#include <catalog/pg_inherits.h>
#include <commands/tablecmds.h>
#include <commands/trigger.h>
#include <executor/executor.h>
#include <miscadmin.h>
#include <nodes/makefuncs.h>
#include <storage/lmgr.h>
#include <utils/builtins.h>
#include <utils/datum.h>
#include <utils/guc.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
#include <utils/syscache.h>
#include <utils/typcache.h>
}

namespace spock::apply {
namespace detail {
namespace {

void apply_error_callback(void* arg) {
    auto* c = static_cast<ApplyErrorContext*>(arg);
    errcontext("applying remote %s to relation \"%s.%s\"", c->action, c->rel->nspname,
               c->rel->relname);
}

// Equality of two values of an attribute: the type's default equality operator, or the
// binary image for types without one.
bool values_equal(Form_pg_attribute att, Datum a, Datum b) {
    TypeCacheEntry* tc = lookup_type_cache(att->atttypid, TYPECACHE_EQ_OPR_FINFO);
    if (!OidIsValid(tc->eq_opr_finfo.fn_oid)) {
        return datum_image_eq(a, b, att->attbyval, att->attlen);
    }
    return DatumGetBool(FunctionCall2Coll(&tc->eq_opr_finfo, att->attcollation, a, b));
}

bool slot_matches(TupleTableSlot* candidate, TupleTableSlot* search, const bool* cmp) {
    TupleDesc desc = candidate->tts_tupleDescriptor;
    slot_getallattrs(candidate);
    for (int k = 0; k < desc->natts; k++) {
        if (!cmp[k]) {
            continue;
        }
        bool n1 = candidate->tts_isnull[k];
        bool n2 = search->tts_isnull[k];
        if (n1 != n2) {
            return false;
        }
        if (!n1 && !values_equal(TupleDescAttr(desc, k), candidate->tts_values[k],
                                 search->tts_values[k])) {
            return false;
        }
    }
    return true;
}

// Finds and locks the row whose compared columns equal the search row, by a sequential scan
// with a dirty snapshot (so that rows of transactions in progress are seen and waited for).
bool find_row_by_scan(Relation rel, TupleTableSlot* search, const bool* cmp, TupleTableSlot* out) {
    SnapshotData dirty;
    InitDirtySnapshot(dirty);
    TableScanDesc scan = table_beginscan(rel, &dirty, 0, nullptr);
    TupleTableSlot* candidate = table_slot_create(rel, nullptr);
    bool found = false;
    for (;;) {
        found = false;
        table_rescan(scan, nullptr);
        bool wait = false;
        TransactionId xwait = InvalidTransactionId;
        while (table_scan_getnextslot(scan, ForwardScanDirection, candidate)) {
            if (!slot_matches(candidate, search, cmp)) {
                continue;
            }
            found = true;
            ExecCopySlot(out, candidate);
            // The dirty snapshot reports an in-progress inserter or deleter of this row.
            xwait = TransactionIdIsValid(dirty.xmin) ? dirty.xmin : dirty.xmax;
            wait = TransactionIdIsValid(xwait);
            break;
        }
        if (wait) {
            XactLockTableWait(xwait, nullptr, nullptr, XLTW_None);
            continue;
        }
        if (!found) {
            break;
        }
        TM_FailureData tmfd;
        ItemPointerData tid = out->tts_tid;
        PushActiveSnapshot(GetLatestSnapshot());
        TM_Result res =
            table_tuple_lock(rel, &tid, GetLatestSnapshot(), out, GetCurrentCommandId(false),
                             LockTupleExclusive, LockWaitBlock, 0, &tmfd);
        PopActiveSnapshot();
        if (res == TM_Ok) {
            break;
        }
        if (res == TM_Updated || res == TM_Deleted) {
            continue;  // changed concurrently: look again
        }
        elog(ERROR, "unexpected table_tuple_lock status %d while applying to relation \"%s\"",
             static_cast<int>(res), RelationGetRelationName(rel));
    }
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(candidate);
    return found;
}

// Locates the local row for an UPDATE or DELETE. cmp marks the search row's columns that
// carry values; index_used gets the index, or InvalidOid after a sequential scan.
bool find_local_row(ApplyExec* x, RelMapEntry* e, TupleTableSlot* search, bool* cmp,
                    TupleTableSlot** local_out, Oid* index_used) {
    TupleTableSlot* local = table_slot_create(x->rel, &x->estate->es_tupleTable);
    *local_out = local;
    if (OidIsValid(e->key_index)) {
        *index_used = e->key_index;
        return RelationFindReplTupleByIndex(x->rel, e->key_index, LockTupleExclusive, search,
                                            local);
    }
    *index_used = InvalidOid;
    int natts = RelationGetDescr(x->rel)->natts;
    bool any = false;
    for (int k = 0; k < natts; k++) {
        // The provider's key, when it has one, identifies the row; other columns of a key
        // tuple arrive as NULL.
        if (cmp[k] && e->remote_has_key && !e->columns[e->remote_of_local[k]].is_key) {
            cmp[k] = false;
        }
        any |= cmp[k];
    }
    if (!any) {
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("cannot identify rows of relation \"%s.%s\" on the subscriber",
                               e->nspname, e->relname),
                        errdetail("No column the provider sent can identify the row."),
                        errhint("Give the table a primary key, or REPLICA IDENTITY FULL on the "
                                "provider.")));
    }
    return find_row_by_scan(x->rel, search, cmp, local);
}

// A virtual slot holding the local row with the received columns replaced.
TupleTableSlot* merged_row(ApplyExec* x, TupleTableSlot* local, const Datum* values,
                           const bool* nulls, const bool* sent) {
    TupleDesc desc = RelationGetDescr(x->rel);
    TupleTableSlot* s = ExecInitExtraTupleSlot(x->estate, desc, &TTSOpsVirtual);
    ExecClearTuple(s);
    slot_getallattrs(local);
    for (int k = 0; k < desc->natts; k++) {
        if (sent[k]) {
            s->tts_values[k] = values[k];
            s->tts_isnull[k] = nulls[k];
        } else {
            s->tts_values[k] = local->tts_values[k];
            s->tts_isnull[k] = local->tts_isnull[k];
        }
    }
    ExecStoreVirtualTuple(s);
    return s;
}

// Updates the located local row to `newrow`; `sent` marks the columns the change sets (for
// UPDATE OF triggers and generated columns).
void update_local_row(ApplyExec* x, TupleTableSlot* local, TupleTableSlot* newrow,
                      const bool* sent) {
    int natts = RelationGetDescr(x->rel)->natts;
    for (int k = 0; k < natts; k++) {
        if (sent[k]) {
            x->rte->updatedCols =
                bms_add_member(x->rte->updatedCols, k + 1 - FirstLowInvalidHeapAttributeNumber);
        }
    }
    as_owner(x);
    ExecSimpleRelationUpdate(x->rri, x->estate, &x->epq, local, newrow);
    as_applier(x);
}

// Whether a unique index can be probed for the row in `slot` with RelationFindReplTupleByIndex:
// valid, immediate, no expressions, no predicate, and no NULL in its key columns (a NULL never
// matches under NULLS DISTINCT; under NULLS NOT DISTINCT the scan key could not express it).
bool unique_index_probeable(Relation index, TupleTableSlot* slot) {
    Form_pg_index ix = index->rd_index;
    if (!ix->indisunique || !ix->indisvalid || !ix->indimmediate ||
        !heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, nullptr) ||
        !heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, nullptr)) {
        return false;
    }
    for (int k = 0; k < ix->indnkeyatts; k++) {
        if (slot->tts_isnull[ix->indkey.values[k] - 1]) {
            return false;
        }
    }
    return true;
}

// spock.check_all_uc_indexes: probes every other usable unique index for a row the INSERT
// would collide with. When `local` holds no row yet, the first one found goes there and
// *index_used names its index; a row found afterwards that is a different row (in another
// index, or besides the key index's row) sets *second_index and ends the search:
// multiple_unique_conflicts.
bool find_in_other_unique_indexes(ApplyExec* x, RelMapEntry* e, TupleTableSlot* remote,
                                  TupleTableSlot* local, bool have_local, Oid* index_used,
                                  Oid* second_index) {
    *second_index = InvalidOid;
    TupleTableSlot* probe = nullptr;
    for (int i = 0; i < x->rri->ri_NumIndices; i++) {
        Relation index = x->rri->ri_IndexRelationDescs[i];
        Oid idx = RelationGetRelid(index);
        if (idx == e->key_index || !unique_index_probeable(index, remote)) {
            continue;
        }
        if (!have_local) {
            if (RelationFindReplTupleByIndex(x->rel, idx, LockTupleExclusive, remote, local)) {
                *index_used = idx;
                have_local = true;
            }
            continue;
        }
        if (probe == nullptr) {
            probe = table_slot_create(x->rel, &x->estate->es_tupleTable);
        }
        if (RelationFindReplTupleByIndex(x->rel, idx, LockTupleExclusive, remote, probe) &&
            !ItemPointerEquals(&probe->tts_tid, &local->tts_tid)) {
            *second_index = idx;
            break;
        }
    }
    return have_local;
}

// update_exists: when the new row changes the key columns of a usable unique index, looks in
// that index for another row that already has the new key. Only key changes pay for a probe.
// Returns the index, or InvalidOid; `other` gets the row.
Oid find_update_collision(ApplyExec* x, TupleTableSlot* local, TupleTableSlot* newrow,
                          const bool* sent, TupleTableSlot** other) {
    TupleDesc desc = RelationGetDescr(x->rel);
    slot_getallattrs(local);
    for (int i = 0; i < x->rri->ri_NumIndices; i++) {
        Relation index = x->rri->ri_IndexRelationDescs[i];
        if (!index->rd_index->indisunique) {
            continue;
        }
        bool changed = false;
        for (int k = 0; k < index->rd_index->indnkeyatts && !changed; k++) {
            int att = index->rd_index->indkey.values[k] - 1;
            if (att < 0 || !sent[att]) {
                continue;
            }
            bool n1 = local->tts_isnull[att];
            bool n2 = newrow->tts_isnull[att];
            changed =
                n1 != n2 || (!n1 && !values_equal(TupleDescAttr(desc, att), local->tts_values[att],
                                                  newrow->tts_values[att]));
        }
        if (!changed || !unique_index_probeable(index, newrow)) {
            continue;
        }
        if (*other == nullptr) {
            *other = table_slot_create(x->rel, &x->estate->es_tupleTable);
        }
        if (RelationFindReplTupleByIndex(x->rel, RelationGetRelid(index), LockTupleExclusive,
                                         newrow, *other) &&
            !ItemPointerEquals(&(*other)->tts_tid, &local->tts_tid)) {
            return RelationGetRelid(index);
        }
    }
    return InvalidOid;
}

// Reports a conflict that is resolved by an error and raises it: update_exists and
// multiple_unique_conflicts. The unique violation the change would cause is what it reports,
// so the SQLSTATE is that of a unique violation (23505), which replay handles.
[[noreturn]] void raise_unique_conflict(ApplyExec* x, const RemoteTxn& txn, ConflictType type,
                                        Oid index, Oid second_index, TupleTableSlot* local,
                                        TupleTableSlot* remote, const LocalOrigin* lo) {
    note_conflict(type);
    ConflictReport rep{type, Resolution::Error, x->rel, index, local, remote, lo};
    ConflictTexts texts;
    MemoryContext qcxt = MemoryContextSwitchTo(x->oldcxt);
    capture_conflict_texts(rep, &texts);
    MemoryContextSwitchTo(qcxt);
    report_conflict(txn, rep, texts);
    const char* rel = ::quote_qualified_identifier(get_namespace_name(RelationGetNamespace(x->rel)),
                                                   RelationGetRelationName(x->rel));
    if (type == ConflictType::MultipleUniqueConflicts) {
        ereport(ERROR,
                (errcode(ERRCODE_UNIQUE_VIOLATION),
                 errmsg("remote INSERT into relation %s conflicts with different rows in unique "
                        "indexes \"%s\" and \"%s\"",
                        rel, get_rel_name(index), get_rel_name(second_index)),
                 errdetail("Conflict type multiple_unique_conflicts: no single local row can "
                           "take the remote row.")));
    }
    ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                    errmsg("remote UPDATE on relation %s gives a row the key of another row in "
                           "unique index \"%s\"",
                           rel, get_rel_name(index)),
                    errdetail("Conflict type update_exists: the new key is taken.")));
    pg_unreachable();
}

Datum* palloc_values(int natts) {
    return static_cast<Datum*>(palloc0(sizeof(Datum) * Max(natts, 1)));
}

bool* palloc_flags(int natts, bool value) {
    bool* f = static_cast<bool*>(palloc(sizeof(bool) * Max(natts, 1)));
    memset(f, value, sizeof(bool) * Max(natts, 1));
    return f;
}

void apply_insert_row(const RemoteTxn& txn, core::RelId relid, const core::TupleData& tuple) {
    RemoteInsert ri;
    begin_remote_insert(relid, &ri);
    TupleDesc desc = RelationGetDescr(ri.rel);
    TupleTableSlot* remote = ri.remote;
    memset(remote->tts_isnull, true, sizeof(bool) * desc->natts);
    bool* sent = palloc_flags(desc->natts, false);
    convert_tuple(ri.e, desc, tuple, false, remote->tts_values, remote->tts_isnull, sent);
    as_owner(&ri.x);
    fill_defaults(ri.e, init_defaults(ri.e), ri.x.estate, desc, remote->tts_values,
                  remote->tts_isnull);
    as_applier(&ri.x);
    finish_remote_insert(txn, &ri, sent);
}

// The check after the write (docs/conflicts.md, "Races between apply workers"): a delete of
// the key that another apply worker recorded since the check before the write, and committed
// after this insert, takes the row just written back, in the same transaction. The delete goes
// through the executor as the table owner, as a remote DELETE would (its triggers fire).
void recheck_written_row(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row,
                         DeleteConflict* dc) {
    if (!written_insert_meets_later_delete(x, txn, row, dc)) {
        return;
    }
    // The row was written under the current command id; deleting it needs the next one.
    CommandCounterIncrement();
    x->estate->es_output_cid = GetCurrentCommandId(true);
    as_owner(x);
    ExecSimpleRelationDelete(x->rri, x->estate, &x->epq, row);
    as_applier(x);
}

// Builds the arbiter list for a speculative insert: the indexes the lookup probes (the key
// index; with spock.check_all_uc_indexes also every usable unique index). False when one of
// them cannot arbitrate (a deferrable key), then the row is inserted the plain way.
bool lookup_arbiters(ApplyExec* x, RelMapEntry* e, TupleTableSlot* remote, List** out) {
    *out = NIL;
    if (x->rel->rd_rel->relkind != RELKIND_RELATION) {
        return false;
    }
    for (int i = 0; i < x->rri->ri_NumIndices; i++) {
        Relation index = x->rri->ri_IndexRelationDescs[i];
        Oid idx = RelationGetRelid(index);
        if (idx == e->key_index) {
            if (!index->rd_index->indisunique || !index->rd_index->indimmediate) {
                list_free(*out);
                *out = NIL;
                return false;
            }
            *out = lappend_oid(*out, idx);
        } else if (gucs::check_all_uc_indexes && unique_index_probeable(index, remote)) {
            *out = lappend_oid(*out, idx);
        }
    }
    return *out != NIL;
}

}  // namespace

void begin_remote_insert(core::RelId relid, RemoteInsert* ri) {
    ri->e = open_mapped_relation(relid, RowExclusiveLock, false, &ri->rel);
    ri->ectx = ApplyErrorContext{"INSERT", ri->e};
    push_error_context(&ri->cb, &ri->ectx);
    begin_exec(&ri->x, ri->rel);
    ri->remote = ExecInitExtraTupleSlot(ri->x.estate, RelationGetDescr(ri->rel), &TTSOpsVirtual);
    ExecClearTuple(ri->remote);
}

void finish_remote_insert(const RemoteTxn& txn, RemoteInsert* ri, const bool* sent) {
    ExecStoreVirtualTuple(ri->remote);
    insert_remote_row(txn, ri->e, &ri->x, ri->remote, sent);
    table_close(ri->rel, NoLock);
    pop_error_context(&ri->cb);
}

// The remote row in `remote` (local layout, defaults filled; `sent` marks the columns the
// provider sent) is inserted, or meets its key in a local row: insert_exists. A local writer
// inserting the same key at the same moment is caught by the speculative insert
// (insert_arbiter.cpp), after which the key is looked up again. Ends the executor state.
void insert_remote_row(const RemoteTxn& txn, RelMapEntry* e, ApplyExec* x, TupleTableSlot* remote,
                       const bool* sent) {
    Relation rel = x->rel;
    List* arbiters = NIL;
    bool speculate = lookup_arbiters(x, e, remote, &arbiters);
    bool prepared = false;
    bool found = false;
    TupleTableSlot* local = nullptr;
    Oid index = InvalidOid;
    Oid second_index = InvalidOid;
    DeleteConflict dc;
    dc.pending = false;
    bool checked_deleted = false;
    for (;;) {
        found = false;
        index = InvalidOid;
        second_index = InvalidOid;
        if (OidIsValid(e->key_index)) {
            if (local == nullptr) {
                local = table_slot_create(rel, &x->estate->es_tupleTable);
            }
            index = e->key_index;
            found = RelationFindReplTupleByIndex(rel, index, LockTupleExclusive, remote, local);
        }
        if (gucs::check_all_uc_indexes) {
            if (local == nullptr) {
                local = table_slot_create(rel, &x->estate->es_tupleTable);
            }
            found = find_in_other_unique_indexes(x, e, remote, local, found, &index, &second_index);
        }
        if (found) {
            break;
        }
        if (!checked_deleted) {
            // insert_deleted: a delete of the key committed after this insert wins.
            checked_deleted = true;
            if (insert_meets_later_delete(x, txn, remote, &dc)) {
                end_exec(x);
                finish_delete_conflict(txn, &dc);
                return;
            }
        }
        SpecInsertResult written = SpecInsertResult::Inserted;
        if (!speculate) {
            as_owner(x);
            ExecSimpleRelationInsert(x->rri, x->estate, remote);
            as_applier(x);
        } else {
            written = insert_with_arbiters(x, remote, arbiters, &prepared);
        }
        if (written != SpecInsertResult::Conflict) {
            // A BEFORE trigger may have dropped the row: then it has no tid.
            if (ItemPointerIsValid(&remote->tts_tid)) {
                recheck_written_row(x, txn, remote, &dc);
            }
            end_exec(x);
            finish_delete_conflict(txn, &dc);
            return;
        }
        // A concurrent writer holds the key: the lookup waits for it if it is still in
        // progress, then finds its row, or nothing when it rolled back.
        CHECK_FOR_INTERRUPTS();
    }

    // insert_exists: the remote row either becomes an UPDATE of the local one, or is dropped.
    // A row written earlier in this remote transaction is simply superseded: no conflict.
    LocalOrigin lo;
    read_local_origin(txn, local, &lo);
    note_local_row(local, &lo, txn);
    if (OidIsValid(second_index)) {
        raise_unique_conflict(x, txn, ConflictType::MultipleUniqueConflicts, index, second_index,
                              local, remote, &lo);
    }
    Resolution res = Resolution::ApplyRemote;
    if (!lo.ours) {
        note_conflict(ConflictType::InsertExists);
        res = decide_conflict(ConflictType::InsertExists, txn, lo, rel, index);
    }
    TupleTableSlot* newrow = merged_row(x, local, remote->tts_values, remote->tts_isnull, sent);
    ConflictReport rep{ConflictType::InsertExists, res, rel, index, local, remote, &lo};
    ConflictTexts texts;
    memset(&texts, 0, sizeof texts);
    if (!lo.ours) {
        MemoryContext qcxt = MemoryContextSwitchTo(x->oldcxt);
        capture_conflict_texts(rep, &texts);
        MemoryContextSwitchTo(qcxt);
    }
    if (res == Resolution::ApplyRemote) {
        update_local_row(x, local, newrow, sent);
    }
    end_exec(x);
    finish_delete_conflict(txn, &dc);
    if (!lo.ours) {
        rep.local = nullptr;
        rep.remote = nullptr;
        report_conflict(txn, rep, texts);
    }
}

void push_error_context(ErrorContextCallback* cb, ApplyErrorContext* ctx) {
    cb->callback = apply_error_callback;
    cb->arg = ctx;
    cb->previous = error_context_stack;
    error_context_stack = cb;
}

void pop_error_context(ErrorContextCallback* cb) {
    error_context_stack = cb->previous;
}

void begin_exec(ApplyExec* x, Relation rel) {
    memset(x, 0, sizeof *x);
    x->rel = rel;
    x->estate = CreateExecutorState();
    x->oldcxt = MemoryContextSwitchTo(x->estate->es_query_cxt);

    x->rte = makeNode(RangeTblEntry);
    x->rte->rtekind = RTE_RELATION;
    x->rte->relid = RelationGetRelid(rel);
    x->rte->relkind = rel->rd_rel->relkind;
    x->rte->rellockmode = RowExclusiveLock;
    ExecInitRangeTable(x->estate, list_make1(x->rte));

    x->rri = makeNode(ResultRelInfo);
    InitResultRelInfo(x->rri, rel, 1, nullptr, 0);
    x->estate->es_opened_result_relations = lappend(x->estate->es_opened_result_relations, x->rri);
    x->estate->es_output_cid = GetCurrentCommandId(true);
    ExecOpenIndices(x->rri, false);

    PushActiveSnapshot(GetTransactionSnapshot());
    x->snapshot_pushed = true;
    x->estate->es_snapshot = GetActiveSnapshot();
    AfterTriggerBeginQuery();
    EvalPlanQualInit(&x->epq, x->estate, nullptr, NIL, -1);
    GetUserIdAndSecContext(&x->saved_userid, &x->saved_sec_context);
}

void end_exec(ApplyExec* x) {
    as_owner(x);
    AfterTriggerEndQuery(x->estate);
    as_applier(x);
    EvalPlanQualEnd(&x->epq);
    ExecCloseResultRelations(x->estate);
    ExecResetTupleTable(x->estate->es_tupleTable, false);
    if (x->snapshot_pushed) {
        PopActiveSnapshot();
    }
    MemoryContextSwitchTo(x->oldcxt);
    FreeExecutorState(x->estate);
    x->estate = nullptr;
    CommandCounterIncrement();
}

void as_owner(ApplyExec* x) {
    Oid owner = x->rel->rd_rel->relowner;
    x->guc_nestlevel = 0;
    if (owner == x->saved_userid) {
        return;
    }
    // The owner's code must not act as us, whoever we are (a superuser applier included):
    // no SET ROLE, no temporary objects, no cursors WITH HOLD; and whatever settings it
    // changes are undone by as_applier(). NewGUCNestLevel() is a counter increment and the
    // matching AtEOXact_GUC() returns at once unless a setting was changed in this
    // transaction, so this costs next to nothing per row.
    SetUserIdAndSecContext(
        owner, x->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    x->guc_nestlevel = NewGUCNestLevel();
}

void as_applier(ApplyExec* x) {
    if (x->guc_nestlevel > 0) {
        AtEOXact_GUC(false, x->guc_nestlevel);
        x->guc_nestlevel = 0;
    }
    SetUserIdAndSecContext(x->saved_userid, x->saved_sec_context);
}

ExprState** init_defaults(const RelMapEntry* e) {
    if (e->ndefaults == 0) {
        return nullptr;
    }
    auto** states = static_cast<ExprState**>(palloc(sizeof(ExprState*) * e->ndefaults));
    for (int i = 0; i < e->ndefaults; i++) {
        states[i] = e->default_exprs[i] ? ExecInitExpr(e->default_exprs[i], nullptr) : nullptr;
    }
    return states;
}

void fill_defaults(const RelMapEntry* e, ExprState** states, EState* estate, TupleDesc desc,
                   Datum* values, bool* nulls) {
    if (e->ndefaults == 0) {
        return;
    }
    ExprContext* econtext = GetPerTupleExprContext(estate);
    for (int i = 0; i < e->ndefaults; i++) {
        int k = e->default_atts[i] - 1;
        if (states[i] == nullptr) {
            values[k] = (Datum)0;
            nulls[k] = true;
            continue;
        }
        Datum v = ExecEvalExpr(states[i], econtext, &nulls[k]);
        if (nulls[k]) {
            values[k] = (Datum)0;
            continue;
        }
        // Keep the value beyond the per-tuple context, which the executor may reset.
        Form_pg_attribute att = TupleDescAttr(desc, k);
        values[k] = datumCopy(v, att->attbyval, att->attlen);
    }
}

bool insert_row_triggers_fire(Relation rel) {
    TriggerDesc* td = rel->trigdesc;
    if (td == nullptr) {
        return false;
    }
    for (int i = 0; i < td->numtriggers; i++) {
        const Trigger* t = &td->triggers[i];
        if (!TRIGGER_FOR_ROW(t->tgtype) || !TRIGGER_FOR_INSERT(t->tgtype) ||
            t->tgenabled == TRIGGER_DISABLED) {
            continue;
        }
        bool replica = SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA;
        if (t->tgenabled == TRIGGER_FIRES_ALWAYS ||
            (replica && t->tgenabled == TRIGGER_FIRES_ON_REPLICA) ||
            (!replica && t->tgenabled == TRIGGER_FIRES_ON_ORIGIN)) {
            return true;
        }
    }
    return false;
}

}  // namespace detail

using namespace detail;

void apply_insert(const RemoteTxn& txn, const core::Insert& msg) {
    if (skip_before_truncate(txn, msg.relid, "INSERT")) {
        return;
    }
    if (gucs::batch_inserts && buffer_insert(txn, msg)) {
        return;
    }
    flush_insert_buffer();
    apply_insert_row(txn, msg.relid, msg.new_tuple);
}

void apply_update(const RemoteTxn& txn, const core::Update& msg) {
    flush_insert_buffer();
    if (skip_before_truncate(txn, msg.relid, "UPDATE")) {
        return;
    }
    Relation rel;
    RelMapEntry* e = open_mapped_relation(msg.relid, RowExclusiveLock, false, &rel);
    ApplyErrorContext ectx{"UPDATE", e};
    ErrorContextCallback cb;
    push_error_context(&cb, &ectx);
    ApplyExec x;
    begin_exec(&x, rel);
    TupleDesc desc = RelationGetDescr(rel);
    int natts = desc->natts;

    // The new row as received; 'u' columns keep their local values.
    Datum* values = palloc_values(natts);
    bool* nulls = palloc_flags(natts, true);
    bool* sent = palloc_flags(natts, false);
    convert_tuple(e, desc, msg.new_tuple, true, values, nulls, sent);

    // The search row: the old key (or old row) when the provider sent one, else the new row.
    TupleTableSlot* search = ExecInitExtraTupleSlot(x.estate, desc, &TTSOpsVirtual);
    ExecClearTuple(search);
    bool* cmp = palloc_flags(natts, false);
    if (msg.old_tuple.has_value()) {
        memset(search->tts_isnull, true, sizeof(bool) * natts);
        convert_tuple(e, desc, msg.old_tuple->tuple, false, search->tts_values, search->tts_isnull,
                      cmp);
    } else {
        memcpy(search->tts_values, values, sizeof(Datum) * natts);
        memcpy(search->tts_isnull, nulls, sizeof(bool) * natts);
        memcpy(cmp, sent, sizeof(bool) * natts);
    }
    ExecStoreVirtualTuple(search);

    TupleTableSlot* local;
    Oid index;
    bool* lookup = e->delta != nullptr ? delta_search_columns(e, cmp, natts) : cmp;
    if (!find_local_row(&x, e, search, lookup, &local, &index)) {
        // update_deleted / update_missing: the record of deleted keys and the policy decide
        // whether the new row is inserted (delete_conflicts.cpp, docs/conflicts.md).
        TupleTableSlot* newrow = ExecInitExtraTupleSlot(x.estate, desc, &TTSOpsVirtual);
        ExecClearTuple(newrow);
        memcpy(newrow->tts_values, values, sizeof(Datum) * natts);
        memcpy(newrow->tts_isnull, nulls, sizeof(bool) * natts);
        ExecStoreVirtualTuple(newrow);
        DeleteConflict dc;
        // Only a row with a key can be inserted safely: without one, "missing" may only mean
        // that the old values differ here.
        bool insert = update_missing_decision(&x, txn, search, newrow,
                                              OidIsValid(index) && tuple_is_complete(msg.new_tuple),
                                              index, &dc);
        end_exec(&x);
        finish_delete_conflict(txn, &dc);
        table_close(rel, NoLock);
        pop_error_context(&cb);
        if (insert) {
            apply_insert_row(txn, msg.relid, msg.new_tuple);
        }
        return;
    }

    LocalOrigin lo;
    read_local_origin(txn, local, &lo);
    note_local_row(local, &lo, txn);
    bool conflict = origin_differs(txn, lo);
    Resolution res = Resolution::ApplyRemote;
    if (conflict) {
        note_conflict(ConflictType::UpdateOriginDiffers);
        res = decide_conflict(ConflictType::UpdateOriginDiffers, txn, lo, rel, index);
    }
    TupleTableSlot* newrow = merged_row(&x, local, values, nulls, sent);
    if (res == Resolution::ApplyRemote) {
        TupleTableSlot* other = nullptr;
        Oid taken = find_update_collision(&x, local, newrow, sent, &other);
        if (OidIsValid(taken)) {
            LocalOrigin other_origin;
            read_local_origin(txn, other, &other_origin);
            // A key taken by a row of this same remote transaction is no conflict; the
            // unique violation below says what happened.
            if (!other_origin.ours) {
                raise_unique_conflict(&x, txn, ConflictType::UpdateExists, taken, InvalidOid, other,
                                      newrow, &other_origin);
            }
        }
    }
    ConflictReport rep{ConflictType::UpdateOriginDiffers, res, rel, index, local, newrow, &lo};
    ConflictTexts texts;
    memset(&texts, 0, sizeof texts);
    if (conflict) {
        MemoryContext qcxt = MemoryContextSwitchTo(x.oldcxt);
        capture_conflict_texts(rep, &texts);
        MemoryContextSwitchTo(qcxt);
    }
    bool write = res == Resolution::ApplyRemote;
    if (e->delta != nullptr && res != Resolution::Error) {
        // Delta columns move by the remote difference whoever won the rest of the row.
        write = apply_delta_columns(e, local, msg.old_tuple.has_value() ? search : nullptr, cmp,
                                    values, nulls, newrow, sent, write);
    }
    if (write) {
        update_local_row(&x, local, newrow, sent);
    }
    end_exec(&x);
    if (conflict) {
        rep.local = nullptr;
        rep.remote = nullptr;
        report_conflict(txn, rep, texts);
    }
    table_close(rel, NoLock);
    pop_error_context(&cb);
}

void apply_delete(const RemoteTxn& txn, const core::Delete& msg) {
    flush_insert_buffer();
    Relation rel;
    RelMapEntry* e = open_mapped_relation(msg.relid, RowExclusiveLock, false, &rel);
    ApplyErrorContext ectx{"DELETE", e};
    ErrorContextCallback cb;
    push_error_context(&cb, &ectx);
    ApplyExec x;
    begin_exec(&x, rel);
    TupleDesc desc = RelationGetDescr(rel);
    int natts = desc->natts;
    TupleTableSlot* search = ExecInitExtraTupleSlot(x.estate, desc, &TTSOpsVirtual);
    ExecClearTuple(search);
    memset(search->tts_isnull, true, sizeof(bool) * natts);
    bool* cmp = palloc_flags(natts, false);
    convert_tuple(e, desc, msg.old_tuple.tuple, false, search->tts_values, search->tts_isnull, cmp);
    ExecStoreVirtualTuple(search);

    TupleTableSlot* local;
    Oid index;
    bool found = find_local_row(&x, e, search, cmp, &local, &index);
    if (!found) {
        // Another apply worker may be inserting the row right now, after its check of the
        // record: record the delete first, then look once more; the lookup waits for an insert
        // in progress and finds its row (docs/conflicts.md, "Races between apply workers").
        found = record_remote_delete(&x, txn, search) &&
                find_local_row(&x, e, search, cmp, &local, &index);
    }
    if (found) {
        // delete_origin_differs / delete_exists: the row was last changed elsewhere, before or
        // after the delete; spock.conflict_resolution decides (docs/conflicts.md). A delete
        // that is applied goes into the record of deleted keys.
        LocalOrigin lo;
        read_local_origin(txn, local, &lo);
        note_local_row(local, &lo, txn);
        bool conflict = origin_differs(txn, lo);
        ConflictReport rep{ConflictType::DeleteOriginDiffers,
                           Resolution::ApplyRemote,
                           rel,
                           index,
                           local,
                           search,
                           &lo};
        ConflictTexts texts;
        memset(&texts, 0, sizeof texts);
        if (conflict) {
            rep.type = delete_conflict_type(txn, lo);
            note_conflict(rep.type);
            rep.resolution = decide_conflict(rep.type, txn, lo, rel, index);
            MemoryContext qcxt = MemoryContextSwitchTo(x.oldcxt);
            capture_conflict_texts(rep, &texts);
            MemoryContextSwitchTo(qcxt);
        }
        if (rep.resolution == Resolution::ApplyRemote) {
            record_remote_delete(&x, txn, local);
            as_owner(&x);
            ExecSimpleRelationDelete(x.rri, x.estate, &x.epq, local);
            as_applier(&x);
        }
        end_exec(&x);
        if (conflict) {
            rep.local = nullptr;
            rep.remote = nullptr;
            report_conflict(txn, rep, texts);
        }
    } else {
        // delete_missing: the row is already gone; nothing to do but say so, and remember the
        // delete (it may arrive before the INSERT it deletes, from a third node).
        // The delete is recorded above (a row without a key records nothing).
        note_conflict(ConflictType::DeleteMissing);
        ConflictReport rep{
            ConflictType::DeleteMissing, Resolution::Skip, rel, index, nullptr, search, nullptr};
        ConflictTexts texts;
        MemoryContext qcxt = MemoryContextSwitchTo(x.oldcxt);
        capture_conflict_texts(rep, &texts);
        MemoryContextSwitchTo(qcxt);
        end_exec(&x);
        rep.remote = nullptr;
        report_conflict(txn, rep, texts);
    }
    table_close(rel, NoLock);
    pop_error_context(&cb);
}

// TRUNCATE in a mesh: truncate_apply.cpp.
void apply_truncate(const RemoteTxn& txn, const core::Truncate& msg) {
    flush_insert_buffer();
    apply_truncate_in_mesh(txn, msg);
}

void flush_pending() {
    flush_insert_buffer();
}

namespace {

const RowApplyFunctions row_apply_functions = {
    remember_relation, forget_relations, apply_insert,  apply_update,
    apply_delete,      apply_truncate,   flush_pending, pending_conflicts,
};

}  // namespace
}  // namespace spock::apply

const spock::apply::RowApplyFunctions* spock_row_apply_functions(void) {
    return &spock::apply::row_apply_functions;
}
