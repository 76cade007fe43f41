// Buffered runs against the record of deleted keys, after the run is written (docs/conflicts.md,
// "Races between apply workers"). The check before a row is buffered (add_row) may be long
// before the run is written; a delete of the key that another apply worker recorded in between,
// and whose lookup missed the row, is found here. See delete_conflicts.hpp.
//
// Plain glue: raises ERROR, owns no C++ objects.
#include "delete_conflicts.hpp"

#include "spock/worker/deleted_keys.hpp"

extern "C" {
#include <access/tableam.h>
#include <access/xact.h>
#include <utils/rel.h>
}

namespace spock::apply::detail {

bool run_meets_recorded_delete(Relation rel, TupleTableSlot** slots, int n) {
    if (n == 0 || !worker::deleted_keys_may_have_ordered(RelationGetRelid(rel))) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (written_row_may_meet_delete(rel, slots[i])) {
            return true;
        }
    }
    return false;
}

int take_back_run_rows(Relation rel, TupleTableSlot** slots, int n, bool** redo) {
    *redo = nullptr;
    if (n == 0 || !worker::deleted_keys_may_have_ordered(RelationGetRelid(rel))) {
        return 0;
    }
    int taken = 0;
    for (int i = 0; i < n; i++) {
        if (!written_row_may_meet_delete(rel, slots[i])) {
            continue;
        }
        if (*redo == nullptr) {
            *redo = static_cast<bool*>(palloc0(sizeof(bool) * n));
            // The rows were written under the current command id; deleting needs the next.
            CommandCounterIncrement();
        }
        // No row trigger saw the buffered row (a table with INSERT row triggers that fire is
        // not buffered), so none sees it go: the single-row path applies it again.
        simple_table_tuple_delete(rel, &slots[i]->tts_tid, nullptr);
        (*redo)[i] = true;
        taken++;
    }
    return taken;
}

}  // namespace spock::apply::detail
