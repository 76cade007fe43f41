// How a run of buffered remote INSERTs (spock.batch_inserts) is written to its table. Pure
// decisions on plain values; the glue is src/apply/multi_insert.cpp.
//
// A run whose rows were all looked up by key before they were buffered can still meet a key
// that a local session inserted after the lookup. Writing each row speculatively (as
// INSERT ... ON CONFLICT does) catches that but costs a lock and a second heap pass per row.
// Instead a run is written with one multi-insert inside a subtransaction, the key index
// reporting (not raising) a collision; a collision rolls the subtransaction back and the run is
// written again row by row, speculatively, which resolves insert_exists. A subtransaction costs
// more than a few speculative rows, so short runs go straight to the speculative path, and after
// a collision the next few runs of that table do too (a table under a concurrent local writer
// is likely to collide again).
#pragma once

namespace spock::core {

enum class BatchWrite {
    MultiInsert,         // one multi-insert, a duplicate key raises an error (nothing to arbitrate,
                         // or no place to resolve a conflict: the transaction callbacks)
    GuardedMultiInsert,  // one multi-insert in a subtransaction; a collision rolls it back
    Speculative,         // row by row, speculatively
};

// Runs shorter than this are written speculatively rather than in a subtransaction.
inline constexpr int kMinGuardedBatchRows = 8;

// Runs of a table written speculatively after one of its guarded runs met a collision.
inline constexpr int kSpeculativeRunsAfterCollision = 4;

// rows: the run's length. has_arbiter: the key index can arbitrate a speculative insert (unique,
// immediate, a plain table). may_resolve: conflicts may be resolved here (false in the
// transaction callbacks). speculative_runs_left: what collision_backoff() left for this table.
BatchWrite choose_batch_write(int rows, bool has_arbiter, bool may_resolve,
                              int speculative_runs_left) noexcept;

// The table's speculative_runs_left after a run written as `how`, which met a collision or not.
int collision_backoff(BatchWrite how, bool collided, int speculative_runs_left) noexcept;

// Whether the row about to be buffered at position `buffered_rows` of its run may skip the
// lookup of its key for now. A run that stays shorter than kMinGuardedBatchRows is written
// speculatively, and a speculative write meets an existing key as surely as the lookup does
// (the row then goes the single-row way, which resolves insert_exists), so the first rows of a
// run are not looked up; only if the run grows long enough for a guarded multi-insert are they
// looked up, before it is written. That needs an arbiter, and the run must not live in a
// subtransaction (replay), whose runs are written from the subtransaction callbacks, which do
// not resolve conflicts.
bool defer_key_lookup(int buffered_rows, bool has_arbiter, bool in_subtransaction) noexcept;

}  // namespace spock::core
