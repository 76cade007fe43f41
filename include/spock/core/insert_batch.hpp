// How a run of buffered remote INSERTs (spock.batch_inserts) is written to its table. Pure
// decisions on plain values; the glue is src/apply/multi_insert.cpp.
//
// A run can meet a key that exists already: one a local session inserted, or (its rows are not
// looked up by key before they are buffered, see defer_key_lookup) one that was there before.
// Writing each row speculatively (as INSERT ... ON CONFLICT does) catches that but costs a lock and
// a second heap pass per row. Instead a run is written with one multi-insert inside a
// subtransaction, the key index reporting (not raising) a collision; a collision rolls the
// subtransaction back and the run is written again row by row, speculatively, which resolves
// insert_exists. A subtransaction costs more than a few speculative rows, so short runs go straight
// to the speculative path, and after a collision the next few runs of that table do too (a table
// under a concurrent local writer is likely to collide again).
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

// Runs of a table whose rows are looked up by key again after one of its runs met an existing
// key (core::lookup_backoff).
inline constexpr int kLookupRunsAfterCollision = 64;

// Whether the rows of a run are buffered without a lookup of their key. Every run with an
// arbiter is written either speculatively or as a guarded multi-insert, and both meet an existing
// key as surely as the lookup does: the speculative write sends that row (and the rest of the
// run) the single-row way, which resolves insert_exists; the guarded one rolls the run back and
// writes it again speculatively. So the lookup, as costly as writing the row, only saves work
// when keys do exist: after a run of the table met one, its rows are looked up again for
// kLookupRunsAfterCollision runs (lookup_runs_left > 0), so a table that keeps meeting existing
// keys sends just those rows the single-row way. Not without an arbiter (a plain multi-insert
// would raise), nor in a subtransaction (replay), whose runs are written from the subtransaction
// callbacks, which do not resolve conflicts.
bool defer_key_lookup(bool has_arbiter, bool in_subtransaction, int lookup_runs_left) noexcept;

// The table's lookup_runs_left after one of its runs was written: met_existing_key says whether
// a row of the run met a key that existed already.
int lookup_backoff(bool met_existing_key, int lookup_runs_left) noexcept;

}  // namespace spock::core
