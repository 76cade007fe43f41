#include "spock/output/row_filter_eval.hpp"

extern "C" {
#include <access/detoast.h>
#include <access/genam.h>
#include <access/heaptoast.h>
#include <access/htup_details.h>
#include <access/table.h>
#include <access/toast_internals.h>
#include <executor/executor.h>
#include <executor/tuptable.h>
#include <optimizer/optimizer.h>
#include <storage/bufmgr.h>
#include <storage/smgr.h>
#include <utils/fmgroids.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
}

namespace spock::output {
namespace {

// Whether the relation's files, as the decoding snapshot sees them, can be read. A table
// rewritten (TRUNCATE, VACUUM FULL, ALTER TABLE ... TYPE) since the change being decoded has
// new files; the old ones are emptied at the rewrite's commit and removed at the next
// checkpoint, and reading them would raise an error.
bool has_storage(Relation rel) {
    return smgrexists(RelationGetSmgr(rel), MAIN_FORKNUM) && RelationGetNumberOfBlocks(rel) > 0;
}

// The stored form (possibly compressed, never external) of the value behind an on-disk toast
// pointer, or nullptr when any of its chunks is gone. Reads the chunks in order through the
// toast index, as detoasting does, but treats a missing or malformed chunk as "gone" instead
// of raising an error. Needs an active snapshot (the toast snapshot is derived from it).
struct varlena* fetch_toasted_if_present(struct varlena* pointer) {
    struct varatt_external ext;
    VARATT_EXTERNAL_GET_POINTER(ext, pointer);
    int32 size = VARATT_EXTERNAL_GET_EXTSIZE(ext);
    int32 nchunks = size == 0 ? 0 : (size - 1) / static_cast<int32>(TOAST_MAX_CHUNK_SIZE) + 1;
    auto* value = static_cast<struct varlena*>(palloc(size + VARHDRSZ));
    if (VARATT_EXTERNAL_IS_COMPRESSED(ext)) {
        SET_VARSIZE_COMPRESSED(value, size + VARHDRSZ);
    } else {
        SET_VARSIZE(value, size + VARHDRSZ);
    }

    Relation toastrel = table_open(ext.va_toastrelid, AccessShareLock);
    TupleDesc desc = RelationGetDescr(toastrel);
    Relation* indexes;
    int nindexes;
    int valid = toast_open_indexes(toastrel, AccessShareLock, &indexes, &nindexes);
    if (!has_storage(toastrel) || !has_storage(indexes[valid])) {
        toast_close_indexes(indexes, nindexes, AccessShareLock);
        table_close(toastrel, AccessShareLock);
        pfree(value);
        return nullptr;
    }
    SnapshotData snapshot;
    init_toast_snapshot(&snapshot);
    ScanKeyData key;
    ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(ext.va_valueid));
    SysScanDesc scan = systable_beginscan_ordered(toastrel, indexes[valid], &snapshot, 1, &key);
    int32 next = 0;
    bool complete = true;
    HeapTuple chunk_tuple;
    while ((chunk_tuple = systable_getnext_ordered(scan, ForwardScanDirection)) != nullptr) {
        bool isnull;
        int32 seq = DatumGetInt32(fastgetattr(chunk_tuple, 2, desc, &isnull));
        auto* chunk = reinterpret_cast<struct varlena*>(
            DatumGetPointer(fastgetattr(chunk_tuple, 3, desc, &isnull)));
        // Chunks are stored plain: never compressed or external.
        if (seq != next || next >= nchunks ||
            (VARATT_IS_EXTENDED(chunk) && !VARATT_IS_SHORT(chunk))) {
            complete = false;
            break;
        }
        int32 chunk_size = VARSIZE_ANY_EXHDR(chunk);
        int32 expected = seq < nchunks - 1
                             ? static_cast<int32>(TOAST_MAX_CHUNK_SIZE)
                             : size - (nchunks - 1) * static_cast<int32>(TOAST_MAX_CHUNK_SIZE);
        if (chunk_size != expected) {
            complete = false;
            break;
        }
        memcpy(VARDATA(value) + seq * TOAST_MAX_CHUNK_SIZE, VARDATA_ANY(chunk), chunk_size);
        next++;
    }
    systable_endscan_ordered(scan);
    toast_close_indexes(indexes, nindexes, AccessShareLock);
    table_close(toastrel, AccessShareLock);
    if (!complete || next != nchunks) {
        pfree(value);
        return nullptr;
    }
    return value;
}

// Attribute numbers (offset by FirstLowInvalidHeapAttributeNumber) the filters read.
Bitmapset* filter_columns(List* filters) {
    Bitmapset* cols = nullptr;
    ListCell* lc;
    foreach (lc, filters) {
        pull_varattnos(static_cast<Node*>(lfirst(lc)), 1, &cols);
    }
    return cols;
}

// The tuple the filters are evaluated on: `tuple` itself, or a copy in which the unchanged
// toasted values the filters read are replaced as described in the header.
HeapTuple tuple_for_filters(Relation rel, List* filters, HeapTuple tuple, HeapTuple old_tuple) {
    TupleDesc desc = RelationGetDescr(rel);
    if (!HeapTupleHasExternal(tuple)) {
        return tuple;
    }
    Bitmapset* cols = filter_columns(filters);
    Datum* values = static_cast<Datum*>(palloc(desc->natts * sizeof(Datum)));
    bool* nulls = static_cast<bool*>(palloc(desc->natts * sizeof(bool)));
    heap_deform_tuple(tuple, desc, values, nulls);
    Datum* old_values = nullptr;
    bool* old_nulls = nullptr;
    if (old_tuple != nullptr) {
        old_values = static_cast<Datum*>(palloc(desc->natts * sizeof(Datum)));
        old_nulls = static_cast<bool*>(palloc(desc->natts * sizeof(bool)));
        heap_deform_tuple(old_tuple, desc, old_values, old_nulls);
    }
    for (int i = 0; i < desc->natts; i++) {
        Form_pg_attribute att = TupleDescAttr(desc, i);
        if (nulls[i] || att->attlen != -1 ||
            !VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(values[i])) ||
            !bms_is_member(att->attnum - FirstLowInvalidHeapAttributeNumber, cols)) {
            continue;
        }
        // The old row of a key change holds only the key; its other columns are NULL there.
        if (old_values != nullptr && !old_nulls[i] &&
            !VARATT_IS_EXTERNAL_ONDISK(DatumGetPointer(old_values[i]))) {
            values[i] = old_values[i];
            continue;
        }
        struct varlena* stored =
            fetch_toasted_if_present(reinterpret_cast<struct varlena*>(DatumGetPointer(values[i])));
        if (stored != nullptr) {
            values[i] = PointerGetDatum(stored);
        } else {
            nulls[i] = true;
            ereport(WARNING,
                    (errmsg("row filter on table \"%s\" evaluated with NULL for column \"%s\"",
                            RelationGetRelationName(rel), NameStr(att->attname)),
                     errdetail("The UPDATE did not change the column's toasted value, which is "
                               "no longer stored: VACUUM removed it, or the table has been "
                               "rewritten since."),
                     errhint("Give the table REPLICA IDENTITY FULL to have the old row in WAL "
                             "for its row filters.")));
        }
    }
    return heap_form_tuple(desc, values, nulls);
}

}  // namespace

bool row_filters_pass(Relation rel, List* filters, HeapTuple tuple, HeapTuple old_tuple) {
    // A throw-away executor state per change: filters are rare and evaluation is cheap next to
    // sending the row. Functions in a filter, and the toast reads above, need an active
    // snapshot.
    EState* estate = CreateExecutorState();
    ExprContext* econtext = GetPerTupleExprContext(estate);
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
    PushActiveSnapshot(GetTransactionSnapshot());
    ExecStoreHeapTuple(tuple_for_filters(rel, filters, tuple, old_tuple), slot, false);
    econtext->ecxt_scantuple = slot;
    bool pass = true;
    ListCell* lc;
    foreach (lc, filters) {
        ExprState* expr = ExecPrepareExpr(static_cast<Expr*>(lfirst(lc)), estate);
        bool isnull;
        Datum result = ExecEvalExprSwitchContext(expr, econtext, &isnull);
        if (isnull || !DatumGetBool(result)) {
            pass = false;
            break;
        }
    }
    PopActiveSnapshot();
    ExecDropSingleTupleTableSlot(slot);
    FreeExecutorState(estate);
    return pass;
}

}  // namespace spock::output
