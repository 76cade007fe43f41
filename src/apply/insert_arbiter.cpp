// Remote INSERTs that hold their own against concurrent local writers.
//
// The row code looks a remote row's key up before inserting it; a local session may insert the
// same key between that lookup and the insert. Plain insertion would then end in a unique
// violation (and a replay of the whole remote transaction). Instead the row is inserted the
// way INSERT ... ON CONFLICT does it: as a speculative heap tuple under a speculative
// insertion lock, with its index entries checked (not raised) against the arbiter indexes,
// which are exactly the indexes the lookup probes. When one of them holds the same key, the
// tuple is killed again (it never becomes visible and logical decoding drops it) and the caller
// looks the key up once more: that lookup waits for a writer still in progress, then finds its
// row (committed: an insert_exists conflict, resolved as usual) or nothing (aborted: the insert
// is tried again).
//
// Plain glue: raises ERROR, owns no C++ objects.
#include "apply_internal.hpp"

extern "C" {
#include <access/tableam.h>
#include <access/xact.h>
#include <commands/trigger.h>
#include <executor/executor.h>
#include <executor/nodeModifyTable.h>
#include <nodes/pg_list.h>
#include <storage/lmgr.h>
#include <utils/rel.h>
}

namespace spock::apply::detail {

bool speculative_write(ResultRelInfo* rri, EState* estate, TupleTableSlot* slot, List* arbiters,
                       List** recheck) {
    Relation rel = rri->ri_RelationDesc;
    TransactionId xid = GetCurrentTransactionId();
    uint32 token = SpeculativeInsertionLockAcquire(xid);
    table_tuple_insert_speculative(rel, slot, GetCurrentCommandId(true), 0, nullptr, token);
    bool conflict = false;
    List* found = ExecInsertIndexTuples(rri, slot, estate, false, true, &conflict, arbiters);
    table_tuple_complete_speculative(rel, slot, token, !conflict);
    SpeculativeInsertionLockRelease(xid);
    if (conflict) {
        list_free(found);
        found = NIL;
    }
    if (recheck != nullptr) {
        *recheck = found;
    } else {
        list_free(found);
    }
    return !conflict;
}

SpecInsertResult insert_with_arbiters(ApplyExec* x, TupleTableSlot* slot, List* arbiters,
                                      bool* prepared) {
    ResultRelInfo* rri = x->rri;
    EState* estate = x->estate;
    Relation rel = x->rel;
    as_owner(x);
    if (!*prepared) {
        // What ExecSimpleRelationInsert does before storing the row, once per remote row
        // however often the insert is tried.
        CheckCmdReplicaIdentity(rel, CMD_INSERT);
        if (rri->ri_TrigDesc != nullptr && rri->ri_TrigDesc->trig_insert_before_row &&
            !ExecBRInsertTriggers(estate, rri, slot)) {
            as_applier(x);
            return SpecInsertResult::SkippedByTrigger;
        }
        if (rel->rd_att->constr != nullptr && rel->rd_att->constr->has_generated_stored) {
            ExecComputeStoredGenerated(rri, estate, slot, CMD_INSERT);
        }
        if (rel->rd_att->constr != nullptr) {
            ExecConstraints(rri, slot, estate);
        }
        if (rel->rd_rel->relispartition) {
            ExecPartitionCheck(rri, slot, estate, true);
        }
        *prepared = true;
    }
    List* recheck = NIL;
    if (!speculative_write(rri, estate, slot, arbiters, &recheck)) {
        as_applier(x);
        return SpecInsertResult::Conflict;
    }
    ExecARInsertTriggers(estate, rri, slot, recheck, nullptr);
    list_free(recheck);
    as_applier(x);
    return SpecInsertResult::Inserted;
}

}  // namespace spock::apply::detail
