// Shared by the row-apply files of src/apply (relation_map, tuple_convert, conflict,
// row_apply, multi_insert). Plain PostgreSQL glue: no function here owns a C++ object, and any
// of them may raise ERROR.
#pragma once

#include "spock/apply/row_apply.hpp"
#include "spock/core/conflict_policy.hpp"
#include "spock/core/conflict_types.hpp"

extern "C" {
#include <access/tupdesc.h>
#include <executor/tuptable.h>
#include <access/xlogdefs.h>
#include <fmgr.h>
#include <nodes/execnodes.h>
#include <storage/lockdefs.h>
#include <utils/relcache.h>
}

namespace spock::apply::detail {

// ----- relation_map.cpp ----------------------------------------------------------------------

// Per remote column: how its values become local values.
struct RemoteColumn {
    char* name;
    Oid remote_typid;
    int32 remote_typmod;
    bool is_key;           // part of the provider's replica identity
    AttrNumber local_att;  // local attnum, or 0 when the value is not used (generated locally,
                           // or missing)
    bool missing;          // the local table has no such column (ddl_apply.hpp)
    // Conversion functions of the local type, looked up on first use (fn_oid == InvalidOid
    // until then).
    FmgrInfo input_fn;
    Oid input_ioparam;
    FmgrInfo recv_fn;
    Oid recv_ioparam;
};

struct DeltaColumns;  // delta_apply.cpp

// One remote relation, keyed by the provider's relid. The local side is resolved lazily and
// reset by relcache invalidation.
struct RelMapEntry {
    core::RelId remoteid;  // hash key
    char* nspname;
    char* relname;
    int nremote;
    RemoteColumn* columns;
    bool remote_has_key;  // some column carries the replica-identity flag

    bool local_valid;
    Oid local_relid;
    int local_natts;
    int* remote_of_local;  // per local attribute (0-based): remote column index, or -1
    Oid key_index;         // index for lookups (replica identity, else primary key), or Invalid
    // Local columns INSERT fills with defaults (not sent, not generated, not dropped), with
    // their planned default expressions (nullptr: NULL).
    int ndefaults;
    AttrNumber* default_atts;
    Expr** default_exprs;
    bool volatile_defaults;  // a default other than nextval() is volatile
    uint64 generation;       // bumped each time the local side is resolved again
    DeltaColumns* delta;     // delta-apply columns of the local table, nullptr when none

    // Multi-insert eligibility, decided on first use for the session_replication_role it was
    // decided under (multi_insert.cpp).
    bool batch_checked;
    bool batch_ok;
    int batch_role;
    // With batch_ok and a key index: the hash functions that mirror it (multi_insert.cpp),
    // looked up once per resolution instead of once per buffer (a catalog scan each time).
    int key_nkeys;
    AttrNumber key_atts[INDEX_MAX_KEYS];
    FmgrInfo* key_hash[INDEX_MAX_KEYS];  // the type cache's, valid for the process
    Oid key_coll[INDEX_MAX_KEYS];

    MemoryContext cxt;        // remote description; parent of local_cxt
    MemoryContext local_cxt;  // local mapping, reset when it is resolved again
};

// Opens the local relation of a remote relid with `lockmode`, resolving and caching the
// mapping. ERROR 08P01 for a relid without RELATION message, 42P01 when the local table does
// not exist, 42703 when it lacks a column the provider sends, 42809 when it is not a table.
// A partitioned table is accepted only with allow_partitioned (TRUNCATE).
RelMapEntry* open_mapped_relation(core::RelId remoteid, LOCKMODE lockmode, bool allow_partitioned,
                                  Relation* rel_out);

// The entry of a remote relid, or nullptr; does not open or resolve anything.
RelMapEntry* find_mapped_relation(core::RelId remoteid);

// "schema.table" as the provider named it, for messages.
const char* remote_display_name(const RelMapEntry* e);

// ----- tuple_convert.cpp ---------------------------------------------------------------------

// Converts the remote tuple into local layout: for each local attribute that received a value,
// values/nulls are set and sent[] is true; the others are left alone. 'u' (unchanged toasted)
// is accepted only when allow_unchanged, and leaves sent[] false. Allocates in the current
// memory context.
void convert_tuple(RelMapEntry* e, TupleDesc desc, const core::TupleData& tuple,
                   bool allow_unchanged, Datum* values, bool* nulls, bool* sent);

// Text of a tuple for messages: "(col=value, ...)" with each value cut at 40 characters. With
// a mask, only the columns it marks.
char* describe_slot(TupleTableSlot* slot, const bool* mask = nullptr);

// ----- delta_apply.cpp -----------------------------------------------------------------------

// The local table's delta-apply columns with their + and - functions, or nullptr when it has
// none. Allocated in the current memory context (the entry's local_cxt).
DeltaColumns* load_delta_columns(Relation rel, const RelMapEntry* e);

// The columns a row search may compare: `cmp` without the delta-apply columns (their old
// remote value differs from the local one by design). Used only without a key index.
bool* delta_search_columns(const RelMapEntry* e, const bool* cmp, int natts);

// Sets the delta-apply columns of `newrow` (a virtual slot of the row to write) for a remote
// UPDATE that found `local`. `old_remote` holds the provider's old row (nullptr when it sent
// none) with `old_sent` marking the columns it carried; new_values/new_nulls are the new
// remote row and `sent` marks the columns it carried. With remote_wins the other columns of
// newrow stay as merged; otherwise newrow becomes the local row and `sent` marks only the
// delta columns that change. Returns whether the row must be written.
bool apply_delta_columns(RelMapEntry* e, TupleTableSlot* local, TupleTableSlot* old_remote,
                         const bool* old_sent, const Datum* new_values, const bool* new_nulls,
                         TupleTableSlot* newrow, bool* sent, bool remote_wins);

// ----- conflict.cpp --------------------------------------------------------------------------

using core::ConflictType;
// Error: the conflict raises an ERROR after it is reported (update_exists,
// multiple_unique_conflicts, and any type under spock.conflict_resolution = error).
enum class Resolution { ApplyRemote, KeepLocal, Skip, Error };

// Who wrote the local row, from its xmin and the commit timestamp record.
struct LocalOrigin {
    TransactionId xmin;
    bool ours;          // written by the current transaction (an earlier change of this one)
    bool frozen;        // frozen xmin, or no commit timestamp known for it
    bool local_change;  // committed here without a replication origin
    TimestampTz commit_ts;
    RepOriginId roident;  // origin recorded with the commit (0 for a local change)
    Oid node;             // spock node the row came from, InvalidOid when unknown or local
};

void read_local_origin(const RemoteTxn& txn, TupleTableSlot* localslot, LocalOrigin* out);

// True when the local row came from somewhere else than the remote change
// (update_origin_differs, delete_origin_differs). Never for a row written earlier in the same
// remote transaction.
bool origin_differs(const RemoteTxn& txn, const LocalOrigin& lo);

// Decides a conflict under spock.conflict_resolution. May raise ERROR (policy error, missing
// track_commit_timestamp). Never returns Skip.
Resolution decide_conflict(ConflictType type, const RemoteTxn& txn, const LocalOrigin& lo,
                           Relation rel, Oid index);

struct ConflictReport {
    ConflictType type;
    Resolution resolution;
    Relation rel;
    Oid index;
    TupleTableSlot* local;      // may be nullptr (update_missing, delete_missing)
    TupleTableSlot* remote;     // the remote row in local layout, may be nullptr
    const LocalOrigin* origin;  // may be nullptr
};

// Text renderings a report needs, taken before the local row changes. Cheap when nobody
// listens (neither log level nor save_resolutions), then both stay nullptr.
struct ConflictTexts {
    char* local_json;
    char* remote_json;
    char* local_desc;
    char* remote_desc;
};
bool conflict_reporting_wanted(ConflictType type, Resolution resolution);

// Counts a detected conflict in this process (pending_conflicts(), row_apply.hpp): once per
// conflict, at detection, whatever becomes of the change.
void note_conflict(ConflictType type);
void capture_conflict_texts(const ConflictReport& r, ConflictTexts* out);

// Logs the conflict at spock.conflict_log_level (rate-limited per type, docs/conflicts.md) and,
// with spock.save_resolutions, records it in spock.resolutions (§6.6 rules on which conflicts
// are reported). Call with the original user, outside per-row executor state.
void report_conflict(const RemoteTxn& txn, const ConflictReport& r, const ConflictTexts& texts);

// ----- local_capture.cpp ---------------------------------------------------------------------

// While the apply worker replays a failed transaction, the local row each change found is
// kept (as exception_log's JSON and its origin), so that the log row of a change that fails
// can name it. Off during normal apply: note_local_row() then costs one branch.
struct LocalRowCapture {
    bool found;
    char* tuple_json;  // JSON array of {"attname", "atttype", "value"}
    bool origin_known;
    bool local_change;  // committed here without a replication origin
    Oid node;           // the spock node it came from, when known
    TimestampTz commit_ts;
};
void begin_local_capture();  // starts capturing for the next change (replay only)
void end_local_capture();
const LocalRowCapture* captured_local_row();  // nullptr when nothing was captured
// Called by the row code with the local row a change found; without `origin`, it is read
// (only while capturing) for the change of `txn`.
void note_local_row(TupleTableSlot* local, const LocalOrigin* origin, const RemoteTxn& txn);

// ----- multi_insert.cpp ----------------------------------------------------------------------

// Tries to take an INSERT into the buffer. Returns false when the row must go through the
// single-row path (the buffer has been flushed first when needed).
bool buffer_insert(const RemoteTxn& txn, const core::Insert& msg);

// Writes buffered rows out and releases the buffer.
void flush_insert_buffer();

// Registers the transaction callbacks that flush or drop the buffer; once per process.
void register_buffer_callbacks();

// ----- row_apply.cpp -------------------------------------------------------------------------

// Executor state for one change on one relation.
struct ApplyExec {
    Relation rel;
    EState* estate;
    RangeTblEntry* rte;
    ResultRelInfo* rri;
    EPQState epq;
    MemoryContext oldcxt;
    Oid saved_userid;
    int saved_sec_context;
    int guc_nestlevel;  // GUC nest level opened by as_owner(), 0 when none
    bool snapshot_pushed;
};

// Sets up the EState (range table, result relation, indexes, snapshot, after-trigger query)
// and switches to its per-query memory context. end_exec fires queued AFTER triggers, undoes
// the rest in reverse order and makes the change visible (CommandCounterIncrement).
void begin_exec(ApplyExec* x, Relation rel);
void end_exec(ApplyExec* x);

// User code (triggers, defaults, constraints) runs as the table owner: as_owner() switches to
// it under SECURITY_RESTRICTED_OPERATION and opens a GUC nest level, as_applier() rolls back
// any setting the owner's code changed and switches back. An ERROR in between is undone by
// the (sub)transaction abort.
void as_owner(ApplyExec* x);
void as_applier(ApplyExec* x);

// Evaluates the defaults of the local columns INSERT did not receive into values/nulls, with
// expression states from init_defaults (allocated in the current memory context).
ExprState** init_defaults(const RelMapEntry* e);
void fill_defaults(const RelMapEntry* e, ExprState** states, EState* estate, TupleDesc desc,
                   Datum* values, bool* nulls);

// Whether row-level INSERT triggers would fire under the current session_replication_role.
bool insert_row_triggers_fire(Relation rel);

// Error context while applying one change.
struct ApplyErrorContext {
    const char* action;
    const RelMapEntry* rel;
};
void push_error_context(ErrorContextCallback* cb, ApplyErrorContext* ctx);
void pop_error_context(ErrorContextCallback* cb);

// ----- insert_arbiter.cpp --------------------------------------------------------------------

enum class SpecInsertResult { Inserted, SkippedByTrigger, Conflict };

// Inserts the row in `slot` speculatively (as INSERT ... ON CONFLICT does), with the indexes in
// `arbiters` (non-empty, unique, immediate) checked instead of raising: Conflict when one of
// them already has the key (committed or in progress), and the row is gone again. The first call
// for a row (*prepared false) runs BEFORE ROW triggers, generated columns and constraint checks
// and sets *prepared. Runs user code as the table owner.
SpecInsertResult insert_with_arbiters(ApplyExec* x, TupleTableSlot* slot, List* arbiters,
                                      bool* prepared);

// The speculative write alone: the row, already checked, into the heap and its indexes. False
// when an arbiter index has the key (the row is gone again). `recheck` (may be nullptr) gets
// the indexes for AFTER ROW triggers' recheck.
bool speculative_write(ResultRelInfo* rri, EState* estate, TupleTableSlot* slot, List* arbiters,
                       List** recheck);

// row_apply.cpp: inserts a remote row in local layout, resolving insert_exists (also against a
// concurrent local writer of the same key). Ends the executor state begun on x.
void insert_remote_row(const RemoteTxn& txn, RelMapEntry* e, ApplyExec* x, TupleTableSlot* remote,
                       const bool* sent);

// A remote INSERT's table opened for the single-row path (row_apply.cpp): the mapped table,
// its error context and executor state, and an empty virtual slot in the table's layout for
// the row. Lives on the caller's stack between begin and finish (the error context points
// into it).
struct RemoteInsert {
    Relation rel;
    RelMapEntry* e;
    ApplyErrorContext ectx;
    ErrorContextCallback cb;
    ApplyExec x;
    TupleTableSlot* remote;
};
void begin_remote_insert(core::RelId relid, RemoteInsert* ri);
// Stores ri->remote, inserts it (insert_remote_row) and closes what begin_remote_insert opened.
void finish_remote_insert(const RemoteTxn& txn, RemoteInsert* ri, const bool* sent);

// A node's tiebreaker (info->>'tiebreaker', else its id; InvalidOid: the local node's, 0 when
// there is none) and the local node's (false when there is no local node), as conflict
// resolution uses them.
int64 tiebreaker_of_node(Oid node);
bool tiebreaker_of_local_node(int64* out);

// ----- truncate_apply.cpp --------------------------------------------------------------------

// True when a remote INSERT or UPDATE (`action`) of `txn` on the table committed before the last
// TRUNCATE of the table and must not be applied; it is then counted, and logged once per table
// and transaction.
bool skip_before_truncate(const RemoteTxn& txn, core::RelId remoteid, const char* action);

// Applies a remote TRUNCATE: a real TRUNCATE when no local row of its tables is newer than it,
// else a DELETE of the older rows; remembers it as the tables' horizon.
void apply_truncate_in_mesh(const RemoteTxn& txn, const core::Truncate& msg);

}  // namespace spock::apply::detail
