// The record of recently deleted keys in shared memory (docs/conflicts.md, "Update versus
// delete"): a core::DeletedKeyTable of spock.deleted_keys_max entries under its own LWLock,
// shared by every database of the server. Written by the apply worker for the remote DELETEs
// it applies or finds nothing to delete for, and by spock's row trigger for local DELETEs;
// read by the apply worker when a remote UPDATE or INSERT finds no row.
//
// Plain PostgreSQL glue: no C++ object lives across a call that may raise ERROR.
#pragma once

#include "spock/core/deleted_keys.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <fmgr.h>
#include <executor/tuptable.h>
#include <utils/relcache.h>
#include <utils/timestamp.h>
}

namespace spock::worker {

// Shared memory request and startup (from _PG_init, in the postmaster). A clean shutdown
// saves the record to <data directory>/pg_spock/deleted_keys, the next start loads it and
// removes the file; a crash loses it.
void install_deleted_keys_hooks();

// False when the record cannot hold anything of the table (db, relid): the caller skips
// building the key. Lock-free; may say true for a table without entries.
bool deleted_keys_may_have(Oid relid);

// The same read under the record's lock, for the check after a row was written (docs/conflicts.md,
// "Races between apply workers"): the lock orders it after the row's index entry, so that a
// delete recorded before it cannot be missed. Costs a shared lock.
bool deleted_keys_may_have_ordered(Oid relid);

// The identity of the row in `slot` (in the layout of `rel`) for the record: the values of the
// columns of the replica identity index (else the primary key) in the canonical byte form of
// their types' send functions (output functions for types without one). False when the table
// has no such index, a key column is NULL, or the record is off (spock.deleted_keys_max = 0).
bool deleted_key_of(Relation rel, TupleTableSlot* slot, core::DeletedKeyId* out);

// The same in two steps, for callers that see many rows of one table (the DELETE trigger keeps
// the shape for the statement): the key columns and their output functions, allocated in
// `cxt` (nullptr when the table has no identity or the record is off), then a row's key.
struct DeletedKeyShape {
    Oid relid;
    int nkeys;
    AttrNumber atts[INDEX_MAX_KEYS];
    bool binary[INDEX_MAX_KEYS];  // send function, else output function
    FmgrInfo out[INDEX_MAX_KEYS];
};
DeletedKeyShape* deleted_key_shape(Relation rel, MemoryContext cxt);
bool deleted_key_from_shape(const DeletedKeyShape* shape, TupleTableSlot* slot,
                            core::DeletedKeyId* out);

// Records a delete by the current (sub)transaction. commit_time 0 for a local delete (its
// commit time is read from the commit timestamp record of the xid when it is looked up);
// node 0 for a local session. `now` is the time of the record (its retention starts then).
void record_deleted_key(const core::DeletedKeyId& id, Oid node, TimestampTz commit_time,
                        TimestampTz now);

struct DeletedKeyInfo {
    TimestampTz commit_time;
    Oid node;  // 0: a local session of this node
};

// The delete recorded for the key, when it is within the retention and its transaction
// committed (a delete in progress, one of the current transaction, and an aborted one do not
// count).
bool lookup_deleted_key(const core::DeletedKeyId& id, DeletedKeyInfo* out);

// As lookup_deleted_key, for the check after a row was written: a delete recorded by another
// transaction still in progress is waited for (it may yet commit), then looked at again.
bool lookup_deleted_key_waiting(const core::DeletedKeyId& id, DeletedKeyInfo* out);

}  // namespace spock::worker
