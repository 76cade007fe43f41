// Races between apply workers over the record of deleted keys (docs/conflicts.md, "Races
// between apply workers"): pure decisions of the check an apply worker makes after it wrote a
// remote row, when another worker may have recorded a delete of the same key meanwhile.
//
// The protocol needs no lock of its own. A worker that applies a DELETE and finds no row
// records the key first and then looks the row up once more; a worker that applies an INSERT
// writes the row (its index entry) first and then looks at the record once more. Whichever of
// the two looks last sees what the other did, so one of them always acts. An entry whose
// deleting transaction is still in progress is waited for: that delete may yet commit.
#pragma once

#include "spock/core/conflict_policy.hpp"
#include "spock/core/deleted_keys.hpp"

namespace spock::core {

// What the record holds for the key of a row just written, as the glue found it.
enum class RecordedDelete {
    None,        // no entry (or too old)
    Own,         // recorded by the current transaction: not a competitor
    InProgress,  // by another transaction still running
    Aborted,     // by a transaction that rolled back
    Committed,   // by a committed transaction: ordered against the insert
};

enum class RecheckStep {
    Keep,            // nothing to do: the row stays
    WaitForDeleter,  // wait for the deleting transaction to end, then look again
    Forget,          // remove the aborted entry; the row stays
    Decide,          // order the delete against the insert: decide_insert_written()
};

RecheckStep recheck_step(RecordedDelete state) noexcept;

// The row of a remote INSERT is written and a committed delete of its key is recorded.
// already_reported: the check before the write reported insert_deleted for this row already
// (it is counted once). take_back: delete the row just written again, in the same
// transaction. report: count and report insert_deleted now.
struct WrittenInsertDecision {
    bool report;
    bool take_back;
    MissingRowAction action;  // Error: raise after reporting
};
WrittenInsertDecision decide_insert_written(ConflictPolicy policy, bool already_reported,
                                            DeleteOrder order) noexcept;

}  // namespace spock::core
