// Buffered INSERTs (spock.batch_inserts): a run of INSERTs into one table is written with
// table_multi_insert and index insertion per row, instead of one ExecSimpleRelationInsert per
// row, with the same outcome:
//  * only when nothing row-level would run between rows: no row INSERT trigger that fires
//    under the current session_replication_role, no volatile default (nextval aside), and
//    spock.check_all_uc_indexes off;
//  * with a key index that can arbitrate, rows are buffered without looking their key up: the
//    run is then written speculatively or as a guarded multi-insert (below), which meet an
//    existing key as well; after a run met one, the rows of the table's next runs are looked up
//    (core::defer_key_lookup). A row whose key a lookup finds, or
//    whose key hash equals one in the buffer (possibly the same key, not yet visible to the
//    lookup), flushes the buffer and goes through the single-row path, which resolves the conflict;
//    for that the key index must use its type's default btree operator family and the type
//    must have a hash function, otherwise the table is not buffered;
//  * constraints, generated columns and the partition constraint are checked as each row
//    arrives, so an error names the row that caused it.
//  * a run can meet a key that exists or that a local session inserts meanwhile. With a key
//    index that can arbitrate, a run is written with one multi-insert inside a subtransaction,
//    the key index reporting rather than raising a collision; a collision rolls the
//    subtransaction back and the run is written again speculatively row by row
//    (insert_arbiter.cpp); a row that collides there goes through the single-row path after
//    the others, which resolves insert_exists. Short runs, and the runs of a table just after a
//    collision, skip the subtransaction and go speculative at once (core/insert_batch.hpp
//    decides). Without a key index (nothing to collide on) and from the transaction callbacks
//    the run is a plain multi-insert; an existing key raises a unique violation there (the
//    apply worker writes its buffer before it commits, so only an unusual path gets there,
//    and the replay, whose runs look every key up, resolves it).
// The buffer lives in the (sub)transaction that started it: it is written at flush_pending(),
// before any other change, when full, and at (sub)transaction pre-commit; it is dropped when
// that (sub)transaction aborts.
#include "apply_internal.hpp"
#include "delete_conflicts.hpp"

#include "spock/apply/channel_stats.hpp"
#include "spock/core/insert_batch.hpp"
#include "spock/worker/deleted_keys.hpp"

#include "spock/pg/gucs.hpp"

#include <algorithm>
#include <utility>

extern "C" {
#include <access/genam.h>
#include <access/heapam.h>
#include <access/hio.h>
#include <access/table.h>
#include <access/tableam.h>
#include <access/xact.h>
#include <catalog/pg_am.h>
#include <commands/defrem.h>
#include <commands/trigger.h>
#include <common/hashfn.h>
#include <executor/executor.h>
#include <executor/nodeModifyTable.h>
#include <miscadmin.h>
#include <nodes/makefuncs.h>
#include <utils/guc.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
#include <utils/resowner.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
#include <utils/typcache.h>
}

namespace spock::apply::detail {
namespace {

constexpr int kMaxBufferedRows = 1000;
constexpr int kKeySlots = 4096;  // a power of two, more than twice kMaxBufferedRows

struct InsertBuffer {
    int nest_level;
    core::RelId remoteid;
    Oid relid;
    uint64 generation;
    Relation rel;
    MemoryContext cxt;
    MemoryContext rowcxt;
    EState* estate;
    ResultRelInfo* rri;
    BulkInsertState bistate;
    TupleDesc slot_desc;  // unpinned copy shared by the buffered slots
    int nslots;           // slots created so far
    int nused;            // rows buffered
    TupleTableSlot* lookup;
    ExprState** defaults;
    bool has_generated;
    bool has_constraints;
    bool is_partition;
    Oid saved_userid;
    int saved_sec_context;
    int guc_nestlevel;  // opened by owner_on(), 0 when none
    Oid key_index;
    int nkeys;
    AttrNumber key_atts[INDEX_MAX_KEYS];
    FmgrInfo* key_hash[INDEX_MAX_KEYS];
    Oid key_coll[INDEX_MAX_KEYS];
    // For the single-row path a conflicting run falls back to (write_rows()).
    RemoteTxn txn;
    int natts;
    bool* sent_rows;  // per buffered row, natts flags: the columns the provider sent
    List* arbiters;   // the key index when it can arbitrate a speculative check, else NIL
    // A lookup found the key of a row that was to join the run (core::lookup_backoff).
    bool met_existing_key;
    // Left out of the zeroing at start_buffer(): a single-row transaction should not pay for
    // clearing 24 kB it never reads. key_used is cleared; slots[] is read below nslots only,
    // key_hashes[] only where key_used says so.
    bool key_used[kKeySlots];
    uint32 key_hashes[kKeySlots];
    TupleTableSlot* slots[kMaxBufferedRows];
};
constexpr size_t kZeroedPart = offsetof(InsertBuffer, key_hashes);

InsertBuffer* buffer = nullptr;
bool callbacks_registered = false;

// After a guarded run of a table met a collision, its next runs go speculative
// (core::collision_backoff); after a run met an existing key, the rows of its next runs are
// looked up again (core::lookup_backoff). The last few tables written are remembered.
struct Backoff {
    Oid relid;
    int speculative_left;
    int lookups_left;
};
constexpr int kBackoffTables = 8;
Backoff backoffs[kBackoffTables];
int backoff_next = 0;  // the entry replaced next

Backoff* find_backoff(Oid relid) {
    for (Backoff& b : backoffs) {
        if (b.relid == relid && OidIsValid(relid)) {
            return &b;
        }
    }
    return nullptr;
}

int speculative_runs_left(Oid relid) {
    Backoff* b = find_backoff(relid);
    return b != nullptr ? b->speculative_left : 0;
}

int lookup_runs_left(Oid relid) {
    Backoff* b = find_backoff(relid);
    return b != nullptr ? b->lookups_left : 0;
}

void set_backoff(Oid relid, int speculative_left, int lookups_left) {
    Backoff* b = find_backoff(relid);
    if (b == nullptr) {
        if (speculative_left == 0 && lookups_left == 0) {
            return;  // nothing to remember
        }
        b = &backoffs[backoff_next];
        backoff_next = (backoff_next + 1) % kBackoffTables;
        b->relid = relid;
    }
    b->speculative_left = speculative_left;
    b->lookups_left = lookups_left;
}

void flush_buffer(bool may_retry);

// As as_owner() / as_applier() in row_apply.cpp: the owner's code runs restricted, and the
// settings it changes are rolled back.
void owner_on(InsertBuffer* b) {
    Oid owner = b->rel->rd_rel->relowner;
    b->guc_nestlevel = 0;
    if (owner == b->saved_userid) {
        return;
    }
    SetUserIdAndSecContext(
        owner, b->saved_sec_context | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
    b->guc_nestlevel = NewGUCNestLevel();
}

void owner_off(InsertBuffer* b) {
    if (b->guc_nestlevel > 0) {
        AtEOXact_GUC(false, b->guc_nestlevel);
        b->guc_nestlevel = 0;
    }
    SetUserIdAndSecContext(b->saved_userid, b->saved_sec_context);
}

// Whether the key index can be mirrored by hashing (see the file comment); fills the hash
// functions into the relation's entry.
bool key_hashable(Oid index, TupleDesc desc, RelMapEntry* b) {
    Relation idx = index_open(index, AccessShareLock);
    bool ok = idx->rd_rel->relam == BTREE_AM_OID;
    int n = IndexRelationGetNumberOfKeyAttributes(idx);
    for (int k = 0; ok && k < n; k++) {
        AttrNumber att = idx->rd_index->indkey.values[k];
        Oid typid = TupleDescAttr(desc, att - 1)->atttypid;
        Oid opclass = GetDefaultOpClass(typid, BTREE_AM_OID);
        TypeCacheEntry* tc = lookup_type_cache(typid, TYPECACHE_HASH_PROC_FINFO);
        ok = OidIsValid(opclass) && get_opclass_family(opclass) == idx->rd_opfamily[k] &&
             OidIsValid(tc->hash_proc);
        if (ok) {
            b->key_atts[k] = att;
            b->key_hash[k] = &tc->hash_proc_finfo;
            b->key_coll[k] = idx->rd_indcollation[k];
        }
    }
    b->key_nkeys = n;
    index_close(idx, AccessShareLock);
    return ok;
}

bool batchable(RelMapEntry* e, Relation rel) {
    if (!e->batch_checked || e->batch_role != SessionReplicationRole) {
        e->batch_ok =
            !insert_row_triggers_fire(rel) && !e->volatile_defaults &&
            (!OidIsValid(e->key_index) || key_hashable(e->key_index, RelationGetDescr(rel), e));
        e->batch_role = SessionReplicationRole;
        e->batch_checked = true;
    }
    return e->batch_ok;
}

void flush_error_callback(void* arg) {
    auto* b = static_cast<InsertBuffer*>(arg);
    errcontext("writing %d buffered remote INSERTs to relation \"%s\"", b->nused,
               RelationGetRelationName(b->rel));
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
        case XACT_EVENT_PARALLEL_PRE_COMMIT:
        case XACT_EVENT_PRE_PREPARE:
            flush_buffer(false);
            break;
        case XACT_EVENT_ABORT:
        case XACT_EVENT_PARALLEL_ABORT:
            buffer = nullptr;  // its memory and resources go with the transaction
            break;
        default:
            break;
    }
}

void subxact_callback(SubXactEvent event, SubTransactionId, SubTransactionId, void*) {
    if (buffer == nullptr || buffer->nest_level < GetCurrentTransactionNestLevel()) {
        return;
    }
    if (event == SUBXACT_EVENT_PRE_COMMIT_SUB) {
        flush_buffer(false);
    } else if (event == SUBXACT_EVENT_ABORT_SUB) {
        buffer = nullptr;
    }
}

void start_buffer(const RemoteTxn& txn, RelMapEntry* e, Relation rel, core::RelId remoteid) {
    register_buffer_callbacks();
    MemoryContext cxt =
        AllocSetContextCreate(CurTransactionContext, "spock insert buffer", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(cxt);
    auto* b = static_cast<InsertBuffer*>(palloc(sizeof(InsertBuffer)));
    memset(static_cast<void*>(b), 0, kZeroedPart);
    b->cxt = cxt;
    b->rowcxt = AllocSetContextCreate(cxt, "spock insert buffer row", ALLOCSET_DEFAULT_SIZES);
    b->rel = table_open(RelationGetRelid(rel), NoLock);  // already locked
    b->nest_level = GetCurrentTransactionNestLevel();
    b->remoteid = remoteid;
    b->relid = RelationGetRelid(rel);
    b->generation = e->generation;

    b->estate = CreateExecutorState();
    MemoryContextSwitchTo(b->estate->es_query_cxt);
    RangeTblEntry* rte = makeNode(RangeTblEntry);
    rte->rtekind = RTE_RELATION;
    rte->relid = b->relid;
    rte->relkind = rel->rd_rel->relkind;
    rte->rellockmode = RowExclusiveLock;
    ExecInitRangeTable(b->estate, list_make1(rte));
    b->rri = makeNode(ResultRelInfo);
    InitResultRelInfo(b->rri, b->rel, 1, nullptr, 0);
    b->estate->es_opened_result_relations = list_make1(b->rri);
    b->estate->es_output_cid = GetCurrentCommandId(true);
    ExecOpenIndices(b->rri, false);
    for (int i = 0; i < b->rri->ri_NumIndices; i++) {
        Relation index = b->rri->ri_IndexRelationDescs[i];
        if (RelationGetRelid(index) == e->key_index && index->rd_index->indisunique &&
            index->rd_index->indimmediate && rel->rd_rel->relkind == RELKIND_RELATION) {
            b->arbiters = list_make1_oid(e->key_index);
        }
    }
    b->defaults = init_defaults(e);
    MemoryContextSwitchTo(cxt);

    TupleDesc desc = RelationGetDescr(b->rel);
    b->has_generated = desc->constr != nullptr && desc->constr->has_generated_stored;
    b->has_constraints = desc->constr != nullptr;
    b->is_partition = b->rel->rd_rel->relispartition;
    b->key_index = e->key_index;
    if (OidIsValid(b->key_index)) {
        // batchable() filled them when it said yes.
        b->nkeys = e->key_nkeys;
        memcpy(b->key_atts, e->key_atts, sizeof(AttrNumber) * e->key_nkeys);
        memcpy(b->key_hash, e->key_hash, sizeof(FmgrInfo*) * e->key_nkeys);
        memcpy(b->key_coll, e->key_coll, sizeof(Oid) * e->key_nkeys);
    }
    GetUserIdAndSecContext(&b->saved_userid, &b->saved_sec_context);
    b->txn = txn;
    b->natts = Max(desc->natts, 1);
    b->sent_rows = static_cast<bool*>(palloc(sizeof(bool) * b->natts * kMaxBufferedRows));
    MemoryContextSwitchTo(old);
    buffer = b;
}

// Whether a row with the slot's key exists (the lookup waits for a writer in progress). The
// lookup's slot is made on first use: the short runs of small transactions never look a key up.
bool key_exists(InsertBuffer* b, TupleTableSlot* slot) {
    if (b->lookup == nullptr) {
        MemoryContext old = MemoryContextSwitchTo(b->cxt);
        b->lookup = table_slot_create(b->rel, nullptr);
        MemoryContextSwitchTo(old);
    }
    bool found =
        RelationFindReplTupleByIndex(b->rel, b->key_index, LockTupleExclusive, slot, b->lookup);
    ExecClearTuple(b->lookup);
    return found;
}

// Remembers a key hash; false when it was there already.
bool add_key_hash(InsertBuffer* b, uint32 h) {
    for (uint32 i = h & (kKeySlots - 1);; i = (i + 1) & (kKeySlots - 1)) {
        if (!b->key_used[i]) {
            b->key_used[i] = true;
            b->key_hashes[i] = h;
            return true;
        }
        if (b->key_hashes[i] == h) {
            return false;
        }
    }
}

// Buffers one row. False when it must take the single-row path (the buffer is flushed then).
bool add_row(RelMapEntry* e, const core::Insert& msg) {
    InsertBuffer* b = buffer;
    TupleDesc desc = RelationGetDescr(b->rel);
    if (b->nused == b->nslots) {
        MemoryContext old = MemoryContextSwitchTo(b->cxt);
        // A private copy of the descriptor is not reference-counted, so the slots do not go
        // through the resource owner (which costs as much as the insert itself at 1000 slots).
        if (b->slot_desc == nullptr) {
            b->slot_desc = CreateTupleDescCopy(RelationGetDescr(b->rel));
        }
        b->slots[b->nslots++] =
            MakeSingleTupleTableSlot(b->slot_desc, table_slot_callbacks(b->rel));
        MemoryContextSwitchTo(old);
    }
    TupleTableSlot* slot = b->slots[b->nused];
    MemoryContext old = MemoryContextSwitchTo(b->rowcxt);
    PushActiveSnapshot(GetTransactionSnapshot());
    ExecClearTuple(slot);
    memset(slot->tts_isnull, true, sizeof(bool) * desc->natts);
    bool* sent = static_cast<bool*>(palloc0(sizeof(bool) * Max(desc->natts, 1)));
    convert_tuple(e, desc, msg.new_tuple, false, slot->tts_values, slot->tts_isnull, sent);
    owner_on(b);
    fill_defaults(e, b->defaults, b->estate, desc, slot->tts_values, slot->tts_isnull);
    ExecStoreVirtualTuple(slot);
    if (b->has_generated) {
        ExecComputeStoredGenerated(b->rri, b->estate, slot, CMD_INSERT);
    }
    if (b->has_constraints) {
        ExecConstraints(b->rri, slot, b->estate);
    }
    if (b->is_partition) {
        ExecPartitionCheck(b->rri, slot, b->estate, true);
    }
    owner_off(b);

    bool single_row = false;
    bool deferred = false;
    if (OidIsValid(b->key_index)) {
        slot_getallattrs(slot);  // the lookup reads tts_values directly
        uint32 h = 0;
        bool has_null = false;
        for (int k = 0; k < b->nkeys; k++) {
            int a = b->key_atts[k] - 1;
            if (slot->tts_isnull[a]) {
                has_null = true;  // never equal to anything in a unique index
                break;
            }
            h = hash_combine(h, DatumGetUInt32(FunctionCall1Coll(b->key_hash[k], b->key_coll[k],
                                                                 slot->tts_values[a])));
        }
        if (!has_null) {
            single_row = !add_key_hash(b, h);
            if (!single_row) {
                deferred = core::defer_key_lookup(b->arbiters != NIL, b->nest_level > 1,
                                                  lookup_runs_left(b->relid));
                single_row = !deferred && key_exists(b, slot);
                b->met_existing_key = b->met_existing_key || single_row;
            }
        }
    }
    // A key the record of deleted keys knows: the single-row path decides (insert_deleted).
    if (!single_row && worker::deleted_keys_may_have(RelationGetRelid(b->rel))) {
        owner_on(b);
        single_row = insert_may_meet_delete(b->rel, slot);
        owner_off(b);
    }
    if (!single_row) {
        ExecMaterializeSlot(slot);
        memcpy(b->sent_rows + static_cast<size_t>(b->nused) * b->natts, sent,
               sizeof(bool) * desc->natts);
        b->nused++;
    } else {
        ExecClearTuple(slot);
    }
    PopActiveSnapshot();
    MemoryContextSwitchTo(old);
    MemoryContextReset(b->rowcxt);
    ResetPerTupleExprContext(b->estate);
    if (single_row || b->nused >= kMaxBufferedRows) {
        flush_insert_buffer();
    }
    return !single_row;
}

}  // namespace

void register_buffer_callbacks() {
    if (!callbacks_registered) {
        RegisterXactCallback(xact_callback, nullptr);
        RegisterSubXactCallback(subxact_callback, nullptr);
        callbacks_registered = true;
    }
}

bool buffer_insert(const RemoteTxn& txn, const core::Insert& msg) {
    if (gucs::check_all_uc_indexes) {
        return false;
    }
    // A table known not to qualify costs nothing more.
    RelMapEntry* known = find_mapped_relation(msg.relid);
    if (known != nullptr && known->local_valid && known->batch_checked && !known->batch_ok &&
        known->batch_role == SessionReplicationRole) {
        return false;
    }
    Relation rel;
    RelMapEntry* e = open_mapped_relation(msg.relid, RowExclusiveLock, false, &rel);
    if (buffer != nullptr &&
        (buffer->remoteid != msg.relid || buffer->relid != RelationGetRelid(rel) ||
         buffer->generation != e->generation ||
         buffer->nest_level != GetCurrentTransactionNestLevel())) {
        flush_insert_buffer();
    }
    if (buffer == nullptr) {
        if (!batchable(e, rel)) {
            table_close(rel, NoLock);
            return false;
        }
        start_buffer(txn, e, rel, msg.relid);
    }
    ApplyErrorContext ectx{"INSERT", e};
    ErrorContextCallback cb;
    push_error_context(&cb, &ectx);
    bool taken = add_row(e, msg);
    pop_error_context(&cb);
    table_close(rel, NoLock);
    return taken;
}

void flush_insert_buffer() {
    flush_buffer(true);
}

namespace {

// The bulk-insert state of the multi-insert paths, made on first use: a run written
// speculatively (every single-row transaction) does not need its buffer ring.
BulkInsertState bulk_state(InsertBuffer* b) {
    if (b->bistate == nullptr) {
        MemoryContext old = MemoryContextSwitchTo(b->cxt);
        b->bistate = GetBulkInsertState();
        MemoryContextSwitchTo(old);
    }
    return b->bistate;
}

// Writes rows [0, n) with one multi-insert; a duplicate key raises a unique violation.
void write_rows(InsertBuffer* b, int n) {
    table_multi_insert(b->rel, b->slots, n, GetCurrentCommandId(true), 0, bulk_state(b));
    if (b->rri->ri_NumIndices == 0) {
        return;
    }
    for (int i = 0; i < n; i++) {
        List* recheck =
            ExecInsertIndexTuples(b->rri, b->slots[i], b->estate, false, false, nullptr, NIL);
        list_free(recheck);
        ResetPerTupleExprContext(b->estate);
    }
}

// Swaps rows i and j of the buffer (their slots and sent-column flags).
void swap_rows(InsertBuffer* b, int i, int j) {
    if (i == j) {
        return;
    }
    std::swap(b->slots[i], b->slots[j]);
    bool* a = b->sent_rows + static_cast<size_t>(i) * b->natts;
    bool* c = b->sent_rows + static_cast<size_t>(j) * b->natts;
    std::swap_ranges(a, a + b->natts, c);
}

// Each row written speculatively (insert_arbiter.cpp) with the key index as arbiter. A row that
// meets a key that exists or that a concurrent writer took is not written (it is gone again)
// and moves behind the rows still to try, so rows [0, written) end up written and rows
// [written, n) are those for the single-row path. Reordering a run is harmless: no row trigger
// runs on a buffered table, and no two rows of a run share a key (add_row() flushes the buffer
// before a row whose key hash is in it). Returns written.
int write_rows_speculative(InsertBuffer* b, int n) {
    owner_on(b);
    PushActiveSnapshot(GetTransactionSnapshot());
    int written = 0;
    int left = n;  // rows [written, left) are still to try
    while (written < left) {
        bool ok = speculative_write(b->rri, b->estate, b->slots[written], b->arbiters, nullptr);
        ResetPerTupleExprContext(b->estate);
        if (ok) {
            written++;
        } else {
            swap_rows(b, written, --left);
        }
    }
    PopActiveSnapshot();
    owner_off(b);
    return written;
}

// Rows [0, n) with one multi-insert in a subtransaction; the key index (the arbiter) reports a
// key that a concurrent writer took instead of raising. Returns false after such a collision,
// with the subtransaction rolled back: none of the rows is written. So it does when a row's key
// meets a delete another apply worker recorded meanwhile (*met_delete; docs/conflicts.md, "Races
// between apply workers"). Any other error rolls the subtransaction back and is raised again.
bool write_rows_guarded(InsertBuffer* b, int n, bool* met_delete) {
    BulkInsertState bistate = bulk_state(b);
    MemoryContext oldcxt = CurrentMemoryContext;
    ResourceOwner oldowner = CurrentResourceOwner;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(b->estate->es_query_cxt);
    volatile bool collided = false;
    volatile bool met = false;
    PG_TRY();
    {
        bool found = false;
        owner_on(b);
        PushActiveSnapshot(GetTransactionSnapshot());
        table_multi_insert(b->rel, b->slots, n, GetCurrentCommandId(true), 0, bistate);
        for (int i = 0; i < n && !found; i++) {
            List* recheck = ExecInsertIndexTuples(b->rri, b->slots[i], b->estate, false, true,
                                                  &found, b->arbiters);
            list_free(recheck);
            ResetPerTupleExprContext(b->estate);
        }
        collided = found;
        met = !found && run_meets_recorded_delete(b->rel, b->slots, n);
        PopActiveSnapshot();
        owner_off(b);
        // The pinned page belongs to the subtransaction's resource owner.
        ReleaseBulkInsertStatePin(bistate);
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(oldcxt);
        ErrorData* edata = CopyErrorData();
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        MemoryContextSwitchTo(oldcxt);
        CurrentResourceOwner = oldowner;
        bistate->current_buf = InvalidBuffer;  // released with the subtransaction
        ReThrowError(edata);
    }
    PG_END_TRY();
    if (collided || met) {
        RollbackAndReleaseCurrentSubTransaction();
    } else {
        ReleaseCurrentSubTransaction();
    }
    MemoryContextSwitchTo(oldcxt);
    CurrentResourceOwner = oldowner;
    *met_delete = met;
    return !collided && !met;
}

// After a concurrent writer took a key: rows [from, n) through the single-row path, which
// waits for that writer and resolves insert_exists.
void write_row_single(InsertBuffer* b, int i) {
    RemoteInsert ri;
    begin_remote_insert(b->remoteid, &ri);
    int natts = RelationGetDescr(ri.rel)->natts;
    TupleTableSlot* row = b->slots[i];
    slot_getallattrs(row);
    memcpy(ri.remote->tts_values, row->tts_values, sizeof(Datum) * natts);
    memcpy(ri.remote->tts_isnull, row->tts_isnull, sizeof(bool) * natts);
    finish_remote_insert(b->txn, &ri, b->sent_rows + static_cast<size_t>(i) * b->natts);
}

// Rows [0, written) taken back after the write (redo), then rows [written, n), through the
// single-row path.
void write_rows_one_by_one(InsertBuffer* b, const bool* redo, int written, int n) {
    for (int i = 0; redo != nullptr && i < written; i++) {
        if (redo[i]) {
            write_row_single(b, i);
        }
    }
    for (int i = written; i < n; i++) {
        write_row_single(b, i);
    }
}

// After a run was written other than guarded: its rows that meet a delete another apply worker
// recorded since they were buffered are taken back (*redo marks them) for the single-row path.
// From the transaction callbacks, which resolve no conflict, the transaction fails instead and
// is replayed (by then the delete is committed and the row is never buffered).
int recheck_written_run(InsertBuffer* b, int written, bool may_retry, bool** redo) {
    *redo = nullptr;
    if (!OidIsValid(b->key_index) || written == 0) {
        return 0;
    }
    owner_on(b);
    if (!may_retry && run_meets_recorded_delete(b->rel, b->slots, written)) {
        ereport(ERROR,
                (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                 errmsg("a buffered remote INSERT into relation \"%s\" meets a delete of its "
                        "key applied concurrently",
                        RelationGetRelationName(b->rel)),
                 errdetail("Another apply worker recorded the delete after the row was "
                           "buffered; the row cannot be resolved at commit."),
                 errhint("The remote transaction is applied again (Apply-Replay).")));
    }
    int taken = take_back_run_rows(b->rel, b->slots, written, redo);
    owner_off(b);
    return taken;
}

// may_retry: false from the (sub)transaction callbacks, which must not resolve conflicts; a
// concurrent duplicate then raises a unique violation as a plain insert would.
void flush_buffer(bool may_retry) {
    InsertBuffer* b = buffer;
    if (b == nullptr) {
        return;
    }
    buffer = nullptr;  // whatever happens below, this buffer is done
    int n = b->nused;
    int written = n;     // rows [written, n) go through the single-row path
    int taken_back = 0;  // and so do the rows marked in redo
    bool* redo = nullptr;
    if (n > 0) {
        ErrorContextCallback cb;
        cb.callback = flush_error_callback;
        cb.arg = b;
        cb.previous = error_context_stack;
        error_context_stack = &cb;
        MemoryContext old = MemoryContextSwitchTo(b->estate->es_query_cxt);
        core::BatchWrite how = core::choose_batch_write(n, b->arbiters != NIL, may_retry,
                                                        speculative_runs_left(b->relid));
        bool collided = false;
        bool met_delete = false;
        if (how == core::BatchWrite::GuardedMultiInsert) {
            collided = !write_rows_guarded(b, n, &met_delete) && !met_delete;
            if (collided) {
                how = core::BatchWrite::Speculative;  // the run again, row by row
            } else if (met_delete) {
                written = 0;  // rolled back: the whole run through the single-row path
            }
        }
        // A run of rows that were not looked up meets an existing key in the guarded write
        // (collided) or, written speculatively, as a row that could not be written.
        set_backoff(b->relid,
                    core::collision_backoff(how, collided, speculative_runs_left(b->relid)),
                    core::lookup_backoff(collided || written < n || b->met_existing_key,
                                         lookup_runs_left(b->relid)));
        if (how == core::BatchWrite::Speculative) {
            written = write_rows_speculative(b, n);
        } else if (how == core::BatchWrite::MultiInsert) {
            owner_on(b);
            PushActiveSnapshot(GetTransactionSnapshot());
            write_rows(b, n);
            PopActiveSnapshot();
            owner_off(b);
        }
        if (how != core::BatchWrite::GuardedMultiInsert) {
            taken_back = recheck_written_run(b, written, may_retry, &redo);
        }
        MemoryContextSwitchTo(old);
        error_context_stack = cb.previous;
        elog(DEBUG1, "spock: wrote %d buffered rows to relation \"%s\"%s%s", n,
             RelationGetRelationName(b->rel),
             collided ? "; a key collided in the multi-insert, the run was written again" : "",
             written < n
                 ? "; rows whose key exists or was taken concurrently went the single-row way"
                 : "");
    }
    if (written < n || taken_back > 0) {
        // A key that was there already or taken meanwhile: the single-row path resolves it,
        // and the conflict counts on this table, whichever change wrote the run out.
        std::uint64_t before = conflicts_seen(pending_conflicts());
        write_rows_one_by_one(b, redo, written, n);
        std::uint64_t after = conflicts_seen(pending_conflicts());
        channel_stats_count_conflicts(b->remoteid, after >= before ? after - before : 0);
    }
    for (int i = 0; i < b->nslots; i++) {
        ExecDropSingleTupleTableSlot(b->slots[i]);
    }
    if (b->lookup != nullptr) {
        ExecDropSingleTupleTableSlot(b->lookup);
    }
    if (b->bistate != nullptr) {
        FreeBulkInsertState(b->bistate);
    }
    table_finish_bulk_insert(b->rel, 0);
    ExecCloseResultRelations(b->estate);
    FreeExecutorState(b->estate);
    table_close(b->rel, NoLock);
    MemoryContextDelete(b->cxt);
    if (n > 0) {
        CommandCounterIncrement();
    }
}

}  // namespace
}  // namespace spock::apply::detail
