// Update versus delete in the apply worker (docs/conflicts.md): what the record of deleted
// keys says about a remote change that finds no row, and recording the DELETEs the worker
// applies. Decisions are core's (spock/core/deleted_keys.hpp); this is the glue the row paths
// call. Plain PostgreSQL glue: any function may raise ERROR.
#pragma once

#include "apply_internal.hpp"

namespace spock::apply::detail {

// ----- conflict.cpp (shared with the conflict code) ------------------------------------------

core::ConflictPolicy conflict_policy();  // spock.conflict_resolution
// A node's tiebreaker (info->>'tiebreaker', else its id); InvalidOid: the local node's.
int64 tiebreaker_of_node(Oid node);

// ----- delete_conflicts.cpp ------------------------------------------------------------------

// Records a remote DELETE of the row in `row` (local layout; the local row, or the search row
// of a delete_missing) made by the current transaction for `txn`. Key columns run as the
// table owner (send functions may be user code). False when the row has no key to record (no
// key index, a NULL key column, or the record is off).
bool record_remote_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row);

// A conflict with the record, decided and counted, with its texts taken; report it with
// finish_delete_conflict() after end_exec().
struct DeleteConflict {
    bool pending;  // a conflict to report
    ConflictReport rep;
    ConflictTexts texts;
};

// A remote INSERT found no row. True when a delete committed after it is recorded and the
// policy drops the insert (insert_deleted): the caller skips the insert. Raises ERROR under
// spock.conflict_resolution = error (after reporting). Under apply_remote false is returned
// with a conflict pending all the same. out->pending is always set.
bool insert_meets_later_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* remote,
                               DeleteConflict* out);

// Cheap pre-check for the buffered insert path: whether the record may hold a committed
// delete of the row's key (the row then takes the single-row path, which decides).
bool insert_may_meet_delete(Relation rel, TupleTableSlot* row);

// The check after the row of a remote INSERT was written (docs/conflicts.md, "Races between
// apply workers"): another apply worker may have recorded a delete of the key after the check
// before the write, and missed the row in its lookup. A delete in progress is waited for. True
// when a delete committed after the insert is recorded and the policy drops the insert: the
// caller deletes the row again. The conflict (insert_deleted) is counted and taken into `dc`
// unless the check before the write reported it already (dc->pending). Raises ERROR under
// spock.conflict_resolution = error. `row` holds the row as written.
bool written_insert_meets_later_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row,
                                       DeleteConflict* dc);

// The same check for a row of a buffered run, after the run was written (the caller read
// deleted_keys_may_have_ordered() after the write): whether a committed delete of the row's key
// is recorded (waiting for one in progress). The run then goes through the single-row path,
// which decides. Key columns are read as the caller's user: run it as the table owner.
bool written_row_may_meet_delete(Relation rel, TupleTableSlot* row);

// ----- delete_race.cpp: a buffered run after it is written ------------------------------------

// Whether a row of the run [0, n) meets a recorded delete (the guarded run is then rolled back
// and written through the single-row path). Run as the table owner.
bool run_meets_recorded_delete(Relation rel, TupleTableSlot** slots, int n);

// The rows of the written run [0, n) that meet a recorded delete are deleted again; *redo
// (palloc'd, nullptr when none) marks them for the single-row path. Returns how many. Run as
// the table owner.
int take_back_run_rows(Relation rel, TupleTableSlot** slots, int n, bool** redo);

// A remote UPDATE found no row: decides update_deleted / update_missing. `search` holds the old
// key, `newrow` the new row (local layout); full_row: no unchanged-TOAST column. Returns true
// when the update is to be applied as an INSERT of the new row. Raises ERROR under error.
bool update_missing_decision(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* search,
                             TupleTableSlot* newrow, bool full_row, Oid index, DeleteConflict* out);

void finish_delete_conflict(const RemoteTxn& txn, DeleteConflict* c);

// A remote DELETE found its row last written by another origin: delete_exists when that write
// was committed after the delete, else delete_origin_differs.
ConflictType delete_conflict_type(const RemoteTxn& txn, const LocalOrigin& lo);

// Whether a tuple carries every column (no unchanged-TOAST placeholder).
bool tuple_is_complete(const core::TupleData& t);

}  // namespace spock::apply::detail
