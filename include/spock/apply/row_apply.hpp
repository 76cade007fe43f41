// Applying decoded rows to local tables through the executor (reference §6.3), with conflict
// detection and resolution (§6.5, §6.6).
//
// The apply worker calls these inside the local transaction of one remote transaction, one
// call per change. They are plain glue on the hot path: a PostgreSQL ERROR (a constraint
// violation, an UPDATE that finds no row) propagates as ERROR; the worker's handling of failed
// transactions sits above them.
#pragma once

#include "spock/core/conflict_types.hpp"
#include "spock/core/lsn.hpp"
#include "spock/core/names.hpp"
#include "spock/core/protocol.hpp"
#include "spock/pg/postgres.hpp"

namespace spock::apply {

// The remote transaction a change belongs to.
struct RemoteTxn {
    core::NodeId origin_node = 0;   // node the change was first made on (ORIGIN message)
    core::TimestampUs commit_time;  // BEGIN commit_time
    core::TransactionId xid = 0;
    core::Lsn commit_lsn;            // BEGIN final_lsn
    core::NodeId provider_node = 0;  // the node this subscription streams from
    Oid subscription_id = InvalidOid;
};

// Records the remote relation of an 'R' message; a later 'R' with the same relid replaces it.
// The local relation is resolved by schema-qualified name and columns by name on first use.
void remember_relation(const core::Relation& rel);

// Forgets every remote relation (a new replication connection starts a new relid space).
void forget_relations();

// Applies one change in the current transaction. Columns the subscriber has and the provider
// did not send get their local defaults on INSERT and keep their values on UPDATE.
void apply_insert(const RemoteTxn& txn, const core::Insert& msg);
void apply_update(const RemoteTxn& txn, const core::Update& msg);
void apply_delete(const RemoteTxn& txn, const core::Delete& msg);
void apply_truncate(const RemoteTxn& txn, const core::Truncate& msg);

// Writes out rows buffered for multi-insert (spock.batch_inserts): runs of INSERTs into one
// table are buffered when no row trigger would fire and no default is volatile, with each row
// still checked for an existing key. Call before COMMIT and before anything else writes in the
// transaction (SQL, DDL); the apply_* functions flush by themselves when needed, and a
// pre-commit callback flushes what is left. Rows buffered in a subtransaction are written at
// its commit and dropped at its abort.
void flush_pending();

// Conflicts this process's row apply detected since count_conflicts() (apply_stats.hpp) last
// took them. Process-local and cheap: one increment per conflict.
core::ConflictCounts& pending_conflicts();

// Logs one summary line per conflict type whose log window is over and suppressed lines
// (docs/conflicts.md). The apply worker calls it after each local commit.
void log_conflict_summaries();

// The functions above as a table, for modules that cannot link spock.so (the test-only
// spock_test module finds it with load_external_function("spock", "spock_row_apply_functions")).
struct RowApplyFunctions {
    void (*remember_relation)(const core::Relation&);
    void (*forget_relations)();
    void (*apply_insert)(const RemoteTxn&, const core::Insert&);
    void (*apply_update)(const RemoteTxn&, const core::Update&);
    void (*apply_delete)(const RemoteTxn&, const core::Delete&);
    void (*apply_truncate)(const RemoteTxn&, const core::Truncate&);
    void (*flush_pending)();
    core::ConflictCounts& (*pending_conflicts)();
};

}  // namespace spock::apply

extern "C" SPOCK_EXPORT const spock::apply::RowApplyFunctions* spock_row_apply_functions(void);
