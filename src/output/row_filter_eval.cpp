#include "spock/output/row_filter_eval.hpp"

extern "C" {
#include <executor/executor.h>
#include <executor/tuptable.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
}

namespace spock::output {

bool row_filters_pass(Relation rel, List* filters, HeapTuple tuple) {
    // A throw-away executor state per change: filters are rare and evaluation is cheap next to
    // sending the row. Functions in a filter may need an active snapshot.
    EState* estate = CreateExecutorState();
    ExprContext* econtext = GetPerTupleExprContext(estate);
    TupleTableSlot* slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
    ExecStoreHeapTuple(tuple, slot, false);
    econtext->ecxt_scantuple = slot;
    PushActiveSnapshot(GetTransactionSnapshot());
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
