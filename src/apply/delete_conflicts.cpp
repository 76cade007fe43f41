// Update versus delete in the apply worker. See delete_conflicts.hpp and docs/conflicts.md.
#include "delete_conflicts.hpp"

#include "spock/core/delete_race.hpp"
#include "spock/worker/deleted_keys.hpp"

extern "C" {
#include <utils/timestamp.h>
#include <utils/memutils.h>
#include <utils/rel.h>
}

namespace spock::apply::detail {
namespace {

// Looks the row's key up in the record. have = false when nothing (committed, retained) is
// recorded; otherwise *order says whether the delete came after the change of `txn`.
// after_write: the row is written (the caller read deleted_keys_may_have_ordered()); a delete
// still in progress is waited for.
bool recorded_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row,
                     core::DeleteOrder* order, bool after_write = false) {
    if (!after_write && !worker::deleted_keys_may_have(RelationGetRelid(x->rel))) {
        return false;
    }
    core::DeletedKeyId id;
    as_owner(x);
    bool have_key = worker::deleted_key_of(x->rel, row, &id);
    as_applier(x);
    worker::DeletedKeyInfo d;
    if (!have_key || !(after_write ? worker::lookup_deleted_key_waiting(id, &d)
                                   : worker::lookup_deleted_key(id, &d))) {
        return false;
    }
    core::ChangeStamp del{core::TimestampUs{d.commit_time}, d.node};
    core::ChangeStamp change{txn.commit_time, txn.origin_node};
    *order = core::order_delete(del, change);
    if (*order == core::DeleteOrder::NeedTiebreak) {
        *order = core::order_from_tiebreak(tiebreaker_of_node(d.node),
                                           tiebreaker_of_node(txn.origin_node));
    }
    return true;
}

Resolution resolution_of(core::MissingRowAction a) {
    switch (a) {
        case core::MissingRowAction::Insert:
            return Resolution::ApplyRemote;
        case core::MissingRowAction::KeepLocal:
            return Resolution::KeepLocal;
        case core::MissingRowAction::Error:
            return Resolution::Error;
        case core::MissingRowAction::Skip:
            break;
    }
    return Resolution::Skip;
}

void take_texts(ApplyExec* x, DeleteConflict* c) {
    memset(&c->texts, 0, sizeof c->texts);
    MemoryContext qcxt = MemoryContextSwitchTo(x->oldcxt);
    capture_conflict_texts(c->rep, &c->texts);
    MemoryContextSwitchTo(qcxt);
}

[[noreturn]] void raise_missing_row_error(const RemoteTxn& txn, DeleteConflict* c) {
    report_conflict(txn, c->rep, c->texts);
    ereport(ERROR,
            (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
             errmsg("remote %s on relation \"%s\" from node %u finds no row",
                    c->rep.type == ConflictType::InsertDeleted ? "INSERT" : "UPDATE",
                    RelationGetRelationName(c->rep.rel), txn.origin_node),
             errdetail("Conflict type %s; spock.conflict_resolution is error.",
                       core::conflict_type_name(c->rep.type)),
             errhint("Set spock.conflict_resolution to last_update_wins to let the later of the "
                     "change and the delete win.")));
    pg_unreachable();
}

}  // namespace

bool record_remote_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row) {
    core::DeletedKeyId id;
    as_owner(x);
    bool have_key = worker::deleted_key_of(x->rel, row, &id);
    as_applier(x);
    if (have_key) {
        worker::record_deleted_key(id, txn.origin_node, txn.commit_time.value,
                                   GetCurrentTimestamp());
    }
    return have_key;
}

bool insert_meets_later_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* remote,
                               DeleteConflict* out) {
    out->pending = false;
    core::DeleteOrder order;
    if (!recorded_delete(x, txn, remote, &order)) {
        return false;
    }
    core::InsertDecision d = core::decide_insert_missing(conflict_policy(), true, order);
    if (!d.conflict) {
        return false;
    }
    note_conflict(ConflictType::InsertDeleted);
    out->pending = true;
    out->rep = ConflictReport{ConflictType::InsertDeleted,
                              resolution_of(d.action),
                              x->rel,
                              InvalidOid,
                              nullptr,
                              remote,
                              nullptr};
    take_texts(x, out);
    if (d.action == core::MissingRowAction::Error) {
        raise_missing_row_error(txn, out);
    }
    return d.action != core::MissingRowAction::Insert;  // apply_remote: the insert goes ahead
}

bool insert_may_meet_delete(Relation rel, TupleTableSlot* row) {
    if (!worker::deleted_keys_may_have(RelationGetRelid(rel))) {
        return false;
    }
    core::DeletedKeyId id;
    worker::DeletedKeyInfo d;
    return worker::deleted_key_of(rel, row, &id) && worker::lookup_deleted_key(id, &d);
}

bool written_insert_meets_later_delete(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* row,
                                       DeleteConflict* dc) {
    if (!worker::deleted_keys_may_have_ordered(RelationGetRelid(x->rel))) {
        return false;
    }
    core::DeleteOrder order;
    if (!recorded_delete(x, txn, row, &order, true)) {
        return false;
    }
    core::WrittenInsertDecision d =
        core::decide_insert_written(conflict_policy(), dc->pending, order);
    if (!d.report) {
        return false;
    }
    note_conflict(ConflictType::InsertDeleted);
    dc->pending = true;
    dc->rep = ConflictReport{ConflictType::InsertDeleted,
                             resolution_of(d.action),
                             x->rel,
                             InvalidOid,
                             nullptr,
                             row,
                             nullptr};
    take_texts(x, dc);
    if (d.action == core::MissingRowAction::Error) {
        raise_missing_row_error(txn, dc);
    }
    return d.take_back;
}

bool written_row_may_meet_delete(Relation rel, TupleTableSlot* row) {
    core::DeletedKeyId id;
    worker::DeletedKeyInfo d;
    return worker::deleted_key_of(rel, row, &id) && worker::lookup_deleted_key_waiting(id, &d);
}

bool update_missing_decision(ApplyExec* x, const RemoteTxn& txn, TupleTableSlot* search,
                             TupleTableSlot* newrow, bool full_row, Oid index,
                             DeleteConflict* out) {
    core::DeleteOrder order = core::DeleteOrder::DeleteEarlier;
    bool have = recorded_delete(x, txn, search, &order);
    core::MissingRowDecision d =
        core::decide_update_missing(conflict_policy(), have, order, full_row);
    note_conflict(d.type);
    out->pending = true;
    out->rep =
        ConflictReport{d.type, resolution_of(d.action), x->rel, index, nullptr, newrow, nullptr};
    take_texts(x, out);
    if (d.action == core::MissingRowAction::Error) {
        raise_missing_row_error(txn, out);
    }
    if (!full_row && d.action == core::MissingRowAction::Skip &&
        d.type == ConflictType::UpdateMissing) {
        ereport(DEBUG1, (errmsg("remote UPDATE on relation \"%s\" finds no row and is skipped: "
                                "it does not carry every column (unchanged TOAST values)",
                                RelationGetRelationName(x->rel))));
    }
    return d.action == core::MissingRowAction::Insert;
}

void finish_delete_conflict(const RemoteTxn& txn, DeleteConflict* c) {
    if (!c->pending) {
        return;
    }
    c->rep.local = nullptr;
    c->rep.remote = nullptr;
    report_conflict(txn, c->rep, c->texts);
}

ConflictType delete_conflict_type(const RemoteTxn& txn, const LocalOrigin& lo) {
    core::LocalRowState st;
    st.written_by_current_transaction = lo.ours;
    st.frozen_or_unknown = lo.frozen;
    st.commit_time = core::TimestampUs{lo.commit_ts};
    return core::classify_delete_found(st, txn.commit_time);
}

bool tuple_is_complete(const core::TupleData& t) {
    for (const core::ColumnValue& c : t.columns) {
        if (c.kind == core::ColumnKind::Unchanged) {
            return false;
        }
    }
    return true;
}

}  // namespace spock::apply::detail
