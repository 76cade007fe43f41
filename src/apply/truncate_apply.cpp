// TRUNCATE in a mesh (docs/conflicts.md): a TRUNCATE committed at T removes every row whose
// last change committed before T, on every node, whenever that row arrives.
//  * Every node remembers the last TRUNCATE of each table in spock.truncate_horizon: local ones
//    (src/sql/truncate_capture.cpp) and applied ones (here).
//  * A remote INSERT or UPDATE committed before the horizon of its table is not applied; it is
//    logged once per table and remote transaction and counted in skipped_changes.
//  * A remote TRUNCATE is a real TRUNCATE only when no local row of its tables was written at or
//    after its T; otherwise the rows older than T are deleted and the newer ones stay.
// Equal commit times are decided by the nodes' tiebreakers, as in conflict resolution.
//
// Plain glue: raises ERROR, owns no C++ objects.
#include "apply_internal.hpp"

#include "spock/core/truncate_horizon.hpp"

extern "C" {
#include <access/commit_ts.h>
#include <access/heapam.h>
#include <access/table.h>
#include <access/tableam.h>
#include <access/transam.h>
#include <access/xact.h>
#include <catalog/catalog.h>
#include <catalog/pg_inherits.h>
#include <catalog/pg_type.h>
#include <commands/tablecmds.h>
#include <executor/executor.h>
#include <executor/spi.h>
#include <miscadmin.h>
#include <storage/lmgr.h>
#include <storage/lock.h>
#include <storage/proc.h>
#include <utils/builtins.h>
#include <utils/hsearch.h>
#include <utils/inval.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
#include <utils/timestamp.h>
}

namespace spock::apply::detail {
namespace {

// The horizon of a table as the apply worker last read it; dropped by relcache invalidation
// (a TRUNCATE invalidates its table when it commits, with the horizon row in the same commit).
struct HorizonEntry {
    Oid relid;  // hash key
    bool have;
    TimestampTz at;
    Oid origin_node;  // InvalidOid: made on this node
};

HTAB* horizons = nullptr;
uint64 horizon_generation = 1;  // bumped by every invalidation of the cache above

// The last table skip_before_truncate() found without a horizon, in which local transaction,
// with which mapping and cache generation: the same table again in the same transaction is not
// looked up again (a run of changes to one table pays one lookup).
struct NoHorizonMemo {
    const RelMapEntry* entry;
    uint64 entry_generation;
    LocalTransactionId lxid;
    uint64 horizon_generation;
};
NoHorizonMemo no_horizon = {nullptr, 0, InvalidLocalTransactionId, 0};

void remember_no_horizon(const RelMapEntry* e) {
    no_horizon = NoHorizonMemo{e, e->generation, MyProc->lxid, horizon_generation};
}

void invalidate_horizon(Datum, Oid relid) {
    horizon_generation++;
    if (horizons == nullptr) {
        return;
    }
    if (!OidIsValid(relid)) {
        HASH_SEQ_STATUS st;
        hash_seq_init(&st, horizons);
        HorizonEntry* e;
        while ((e = static_cast<HorizonEntry*>(hash_seq_search(&st))) != nullptr) {
            hash_search(horizons, &e->relid, HASH_REMOVE, nullptr);
        }
        return;
    }
    hash_search(horizons, &relid, HASH_REMOVE, nullptr);
}

// Reads the horizon with a fresh snapshot (a TRUNCATE committed since this transaction began
// must count).
void read_horizon(Oid relid, HorizonEntry* out) {
    out->have = false;
    out->origin_node = InvalidOid;
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    Oid types[1] = {OIDOID};
    Datum values[1] = {ObjectIdGetDatum(relid)};
    int rc = SPI_execute_with_args(
        "SELECT truncated_at, xmin, origin_node FROM spock.truncate_horizon WHERE relid = $1", 1,
        types, values, nullptr, false, 1);
    if (rc != SPI_OK_SELECT) {
        elog(ERROR, "could not read spock.truncate_horizon: %s", SPI_result_code_string(rc));
    }
    if (SPI_processed > 0) {
        HeapTuple tup = SPI_tuptable->vals[0];
        TupleDesc desc = SPI_tuptable->tupdesc;
        bool null_at, null_xmin, null_origin;
        Datum at = SPI_getbinval(tup, desc, 1, &null_at);
        Datum xmin = SPI_getbinval(tup, desc, 2, &null_xmin);
        Datum origin = SPI_getbinval(tup, desc, 3, &null_origin);
        if (!null_at) {
            out->have = true;
            out->at = DatumGetTimestampTz(at);
        } else if (!null_xmin && track_commit_timestamp) {
            // A local TRUNCATE: its time is the commit time of the row's transaction.
            TimestampTz ts = 0;
            RepOriginId ident;
            TransactionId xid = DatumGetTransactionId(xmin);
            if (TransactionIdIsNormal(xid) && TransactionIdGetCommitTsData(xid, &ts, &ident) &&
                ts != 0) {
                out->have = true;
                out->at = ts;
            }
        }
        out->origin_node = null_origin ? InvalidOid : DatumGetObjectId(origin);
    }
    SPI_finish();
}

HorizonEntry* horizon_of(Oid relid) {
    if (horizons == nullptr) {
        HASHCTL ctl;
        memset(&ctl, 0, sizeof ctl);
        ctl.keysize = sizeof(Oid);
        ctl.entrysize = sizeof(HorizonEntry);
        ctl.hcxt = TopMemoryContext;
        horizons =
            hash_create("spock truncate horizons", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
        CacheRegisterRelcacheCallback(invalidate_horizon, (Datum)0);
    }
    bool found;
    auto* e = static_cast<HorizonEntry*>(hash_search(horizons, &relid, HASH_FIND, &found));
    if (e != nullptr) {
        return e;
    }
    HorizonEntry h;
    read_horizon(relid, &h);
    e = static_cast<HorizonEntry*>(hash_search(horizons, &relid, HASH_ENTER, &found));
    e->have = h.have;
    e->at = h.at;
    e->origin_node = h.origin_node;
    return e;
}

int64 tiebreaker_or_local(Oid node) {
    if (OidIsValid(node)) {
        return tiebreaker_of_node(node);
    }
    int64 tb = 0;
    return tiebreaker_of_local_node(&tb) ? tb : 0;
}

// Whether a change committed at `ts` (ts_known false: unknown) by `node` (InvalidOid: this
// node) is older than the TRUNCATE at `at` made on `truncate_node` (InvalidOid: this node).
bool before_horizon(TimestampTz at, Oid truncate_node, bool ts_known, TimestampTz ts, Oid node) {
    core::TruncateHorizon th{core::TimestampUs{at}};
    core::TruncateOrder o = core::order_against_truncate(th, ts_known, core::TimestampUs{ts});
    if (o == core::TruncateOrder::NeedTiebreak) {
        int64 truncate_tb = tiebreaker_or_local(truncate_node);
        o = core::truncate_tiebreak(truncate_tb, tiebreaker_or_local(node));
    }
    return o == core::TruncateOrder::Before;
}

// Changes skipped in the current local transaction, per table; written to skipped_changes at
// pre-commit, forgotten at abort.
constexpr int kSkipSlots = 16;
struct SkipCount {
    Oid relid;
    TimestampTz horizon;
    int64 count;
};
SkipCount skip_counts[kSkipSlots];
int nskip = 0;
bool callback_registered = false;

void write_skip_counts() {
    if (nskip == 0) {
        return;
    }
    bool pushed = false;
    if (!ActiveSnapshotSet()) {  // at pre-commit there is none
        PushActiveSnapshot(GetTransactionSnapshot());
        pushed = true;
    }
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    for (int i = 0; i < nskip; i++) {
        Oid types[3] = {OIDOID, INT8OID, TIMESTAMPTZOID};
        Datum values[3] = {ObjectIdGetDatum(skip_counts[i].relid),
                           Int64GetDatum(skip_counts[i].count),
                           TimestampTzGetDatum(skip_counts[i].horizon)};
        // A local horizon's time is its row's commit time: it is written out before the row
        // changes.
        int rc = SPI_execute_with_args(
            "UPDATE spock.truncate_horizon SET skipped_changes = skipped_changes + $2, "
            "truncated_at = coalesce(truncated_at, $3) WHERE relid = $1",
            3, types, values, nullptr, false, 0);
        if (rc != SPI_OK_UPDATE) {
            elog(ERROR, "could not count skipped changes in spock.truncate_horizon: %s",
                 SPI_result_code_string(rc));
        }
    }
    SPI_finish();
    if (pushed) {
        PopActiveSnapshot();
    }
    nskip = 0;
}

void xact_callback(XactEvent event, void*) {
    switch (event) {
        case XACT_EVENT_PRE_COMMIT:
            write_skip_counts();
            break;
        case XACT_EVENT_ABORT:
            nskip = 0;
            break;
        default:
            break;
    }
}

// Counts one skipped change; true when it is the first for this table in this transaction
// (the one that is logged).
bool count_skip(Oid relid, TimestampTz horizon) {
    if (!callback_registered) {
        RegisterXactCallback(xact_callback, nullptr);
        callback_registered = true;
    }
    for (int i = 0; i < nskip; i++) {
        if (skip_counts[i].relid == relid) {
            skip_counts[i].count++;
            return false;
        }
    }
    if (nskip == kSkipSlots) {
        write_skip_counts();
    }
    skip_counts[nskip++] = SkipCount{relid, horizon, 1};
    return true;
}

char* qualified(Relation rel) {
    return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                      RelationGetRelationName(rel));
}

// Stores T as the table's horizon unless a later TRUNCATE is already remembered.
void record_horizon(const RemoteTxn& txn, Oid relid) {
    HorizonEntry cur;
    read_horizon(relid, &cur);
    core::TruncateHorizon have{core::TimestampUs{cur.at}};
    if (!core::horizon_advances(cur.have, have, core::TruncateHorizon{txn.commit_time})) {
        return;
    }
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    Oid types[3] = {OIDOID, TIMESTAMPTZOID, OIDOID};
    Datum values[3] = {ObjectIdGetDatum(relid), TimestampTzGetDatum(txn.commit_time.value),
                       ObjectIdGetDatum(txn.origin_node)};
    int rc = SPI_execute_with_args(
        "INSERT INTO spock.truncate_horizon (relid, truncated_at, origin_node) "
        "VALUES ($1, $2, $3) ON CONFLICT (relid) DO UPDATE SET "
        "truncated_at = EXCLUDED.truncated_at, origin_node = EXCLUDED.origin_node",
        3, types, values, nullptr, false, 0);
    if (rc != SPI_OK_INSERT) {
        elog(ERROR, "could not record the TRUNCATE in spock.truncate_horizon: %s",
             SPI_result_code_string(rc));
    }
    SPI_finish();
    invalidate_horizon((Datum)0, relid);
    // Other apply workers cache the horizon until a relcache invalidation of the table. A
    // TRUNCATE done by ExecuteTruncateGuts sends one at commit; one applied as a DELETE of the
    // older rows does not, and a worker applying another node's INSERTs then compared them with
    // the previous horizon and kept rows committed before this TRUNCATE (seen in TAP 039: 50
    // rows on one node only).
    CacheInvalidateRelcacheByRelid(relid);
}

// Whether the row in `slot` was written before the remote TRUNCATE of `txn`.
bool row_before_truncate(const RemoteTxn& txn, TupleTableSlot* slot) {
    LocalOrigin lo;
    memset(&lo, 0, sizeof lo);
    read_local_origin(txn, slot, &lo);
    if (lo.ours) {
        return true;  // written earlier in the same remote transaction
    }
    Oid node = lo.local_change ? InvalidOid : lo.node;
    return before_horizon(txn.commit_time.value, txn.origin_node, !lo.frozen, lo.commit_ts, node);
}

// Scans the table: with do_delete, deletes the rows older than the TRUNCATE and counts both
// kinds; without, stops at the first row written at or after it (returns kept > 0).
void sweep(const RemoteTxn& txn, Relation rel, bool do_delete, int64* deleted, int64* kept) {
    *deleted = 0;
    *kept = 0;
    Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
    TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
    TupleTableSlot* slot = table_slot_create(rel, nullptr);
    while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
        CHECK_FOR_INTERRUPTS();
        if (!row_before_truncate(txn, slot)) {
            (*kept)++;
            if (!do_delete) {
                break;
            }
            continue;
        }
        if (do_delete) {
            simple_table_tuple_delete(rel, &slot->tts_tid, snap);
            (*deleted)++;
        }
    }
    table_endscan(scan);
    ExecDropSingleTupleTableSlot(slot);
    UnregisterSnapshot(snap);
}

}  // namespace

bool skip_before_truncate(const RemoteTxn& txn, core::RelId remoteid, const char* action) {
    // Fast path for the usual case, a table without TRUNCATE, once this transaction holds its
    // lock: no TRUNCATE can have committed since the lock was taken (which processed its
    // invalidation), so the cached entry is current without opening the table again.
    RelMapEntry* known = find_mapped_relation(remoteid);
    if (known != nullptr && known->local_valid && known == no_horizon.entry &&
        known->generation == no_horizon.entry_generation && MyProc->lxid == no_horizon.lxid &&
        horizon_generation == no_horizon.horizon_generation) {
        return false;
    }
    if (known != nullptr && known->local_valid && horizons != nullptr) {
        LOCKTAG tag;
        SET_LOCKTAG_RELATION(tag, MyDatabaseId, known->local_relid);
        if (!LockHeldByMe(&tag, RowExclusiveLock)) {
            // The first change to the table in this transaction: its lock, which the change
            // takes anyway, without opening the table here as well (the lock processes pending
            // invalidations, which may reset the mapping: then the slow path below).
            LockRelationOid(known->local_relid, RowExclusiveLock);
        }
        if (known->local_valid) {
            auto* cached = static_cast<HorizonEntry*>(
                hash_search(horizons, &known->local_relid, HASH_FIND, nullptr));
            if (cached != nullptr && !cached->have) {
                remember_no_horizon(known);
                return false;
            }
            // A table with a horizon (pgbench -i truncates its tables, for one): the change is
            // usually newer. Copied out: the comparison may read the catalog, whose
            // invalidations may drop the entry.
            if (cached != nullptr) {
                HorizonEntry h = *cached;
                if (!before_horizon(h.at, h.origin_node, true, txn.commit_time.value,
                                    txn.origin_node)) {
                    return false;
                }
            }
        }
    }
    Relation rel;
    open_mapped_relation(remoteid, RowExclusiveLock, false, &rel);  // locked: horizon is current
    Oid relid = RelationGetRelid(rel);
    // Copied out: a catalog lookup below may process invalidations that drop the entry.
    HorizonEntry h = *horizon_of(relid);
    if (!h.have ||
        !before_horizon(h.at, h.origin_node, true, txn.commit_time.value, txn.origin_node)) {
        table_close(rel, NoLock);
        return false;
    }
    TimestampTz at = h.at;
    if (count_skip(relid, at)) {
        ereport(LOG,
                (errmsg("skipping remote %s on relation %s from node %u: committed before the "
                        "last TRUNCATE of the table",
                        action, qualified(rel), txn.origin_node),
                 errdetail("The remote transaction committed at %s; the table was truncated "
                           "at %s. Further changes of this transaction to the table are "
                           "skipped without a message and counted in "
                           "spock.truncate_horizon.skipped_changes.",
                           timestamptz_to_str(txn.commit_time.value), timestamptz_to_str(at))));
    }
    table_close(rel, NoLock);
    return true;
}

// TRUNCATE of the named tables (partitioned ones with all their partitions), RESTART IDENTITY
// as received, RESTRICT always: a provider's CASCADE is not honoured, so a table referenced by a
// foreign key from a table not in the message makes the TRUNCATE fail (as in Spock). When a
// local row of these tables was written at or after the TRUNCATE, only the older rows are
// deleted (and identities are not restarted).
void apply_truncate_in_mesh(const RemoteTxn& txn, const core::Truncate& msg) {
    List* rels = NIL;
    List* relids = NIL;
    List* relids_logged = NIL;
    auto add = [&](Relation r) {
        rels = lappend(rels, r);
        relids = lappend_oid(relids, RelationGetRelid(r));
        if (RelationIsLogicallyLogged(r)) {
            relids_logged = lappend_oid(relids_logged, RelationGetRelid(r));
        }
    };
    for (core::RelId remoteid : msg.relids) {
        Relation rel;
        open_mapped_relation(remoteid, AccessExclusiveLock, true, &rel);
        if (list_member_oid(relids, RelationGetRelid(rel))) {
            table_close(rel, NoLock);
            continue;
        }
        add(rel);
        if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE) {
            List* children =
                find_all_inheritors(RelationGetRelid(rel), AccessExclusiveLock, nullptr);
            ListCell* lc;
            foreach (lc, children) {
                Oid child = lfirst_oid(lc);
                if (list_member_oid(relids, child)) {
                    continue;
                }
                Relation c = table_open(child, NoLock);  // locked by find_all_inheritors
                if (RELATION_IS_OTHER_TEMP(c)) {
                    table_close(c, NoLock);
                    continue;
                }
                add(c);
            }
        }
    }
    PushActiveSnapshot(GetTransactionSnapshot());
    bool newer_rows = false;
    ListCell* lc;
    foreach (lc, rels) {
        auto* r = static_cast<Relation>(lfirst(lc));
        int64 deleted, kept;
        if (r->rd_rel->relkind == RELKIND_RELATION) {
            sweep(txn, r, false, &deleted, &kept);
            if (kept > 0) {
                newer_rows = true;
                break;
            }
        }
    }
    if (!newer_rows) {
        ExecuteTruncateGuts(rels, relids, relids_logged, DROP_RESTRICT, msg.restart_identity);
    } else {
        foreach (lc, rels) {
            auto* r = static_cast<Relation>(lfirst(lc));
            if (r->rd_rel->relkind != RELKIND_RELATION) {
                continue;
            }
            int64 deleted, kept;
            sweep(txn, r, true, &deleted, &kept);
            ereport(LOG,
                    (errmsg("remote TRUNCATE of relation %s from node %u applied as a DELETE of "
                            "%lld rows; %lld rows written after it are kept",
                            qualified(r), txn.origin_node, static_cast<long long>(deleted),
                            static_cast<long long>(kept)),
                     errdetail("The TRUNCATE committed at %s; rows of this node last written at "
                               "or after that time are not removed (docs/conflicts.md, TRUNCATE "
                               "in a mesh).",
                               timestamptz_to_str(txn.commit_time.value))));
        }
        CommandCounterIncrement();
    }
    foreach (lc, relids) {
        record_horizon(txn, lfirst_oid(lc));
    }
    PopActiveSnapshot();
    foreach (lc, rels) {
        table_close(static_cast<Relation>(lfirst(lc)), NoLock);
    }
    CommandCounterIncrement();
}

}  // namespace spock::apply::detail
