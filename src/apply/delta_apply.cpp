// Delta-apply columns (docs/conflicts.md, "Delta-apply columns"): a remote UPDATE stores
// local + (new_remote - old_remote) in a column labelled 'spock.delta_apply', whatever became
// of the other columns' conflict. core::decide_delta() says what to do with NULLs; here the
// type's own + and - (pg_catalog operators, looked up once per relation resolution) compute
// it, so numeric and money stay exact. Plain glue: may raise ERROR (an overflow, say), which
// fails the change like any other apply error.
#include "spock/apply/delta_apply.hpp"

#include "apply_internal.hpp"
#include "spock/core/delta_rule.hpp"
#include "spock/pg/seclabel.hpp"

extern "C" {
#include <catalog/namespace.h>
#include <nodes/makefuncs.h>
#include <nodes/value.h>
#include <catalog/pg_type.h>
#include <utils/builtins.h>
#include <utils/datum.h>
#include <utils/fmgrprotos.h>
#include <utils/lsyscache.h>
#include <utils/rel.h>
}

namespace spock::apply {
namespace {

DeltaApplyObserver observer = nullptr;
std::uint64_t applies = 0;

}  // namespace

void set_delta_apply_observer(DeltaApplyObserver fn) {
    observer = fn;
}

std::uint64_t delta_applies_in_process() {
    return applies;
}

namespace detail {

struct DeltaColumns {
    int natts;
    bool* is_delta;  // per local attribute
    FmgrInfo* plus;  // per local attribute, valid where is_delta
    FmgrInfo* minus;
    bool warned_no_old;  // the "no old value" warning went out for this resolution
};

namespace {

Oid catalog_operator(const char* name, Oid type) {
    List* opname = list_make2(makeString(pstrdup("pg_catalog")), makeString(pstrdup(name)));
    Oid op = OpernameGetOprid(opname, type, type);
    return OidIsValid(op) ? get_opcode(op) : InvalidOid;
}

}  // namespace

DeltaColumns* load_delta_columns(Relation rel, const RelMapEntry* e) {
    TupleDesc desc = RelationGetDescr(rel);
    bool* labelled = static_cast<bool*>(palloc0(sizeof(bool) * (desc->natts + 1)));
    if (!pg::read_delta_columns(rel, labelled)) {
        pfree(labelled);
        return nullptr;
    }
    auto* d = static_cast<DeltaColumns*>(palloc0(sizeof(DeltaColumns)));
    d->natts = desc->natts;
    d->is_delta = static_cast<bool*>(palloc0(sizeof(bool) * (desc->natts + 1)));
    d->plus = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (desc->natts + 1)));
    d->minus = static_cast<FmgrInfo*>(palloc0(sizeof(FmgrInfo) * (desc->natts + 1)));
    bool any = false;
    for (int k = 0; k < desc->natts; k++) {
        if (!labelled[k]) {
            continue;
        }
        Form_pg_attribute att = TupleDescAttr(desc, k);
        Oid plus = catalog_operator("+", att->atttypid);
        Oid minus = catalog_operator("-", att->atttypid);
        if (!pg::is_delta_column_type(att->atttypid) || !OidIsValid(plus) || !OidIsValid(minus)) {
            // The column's type was changed after it was labelled.
            ereport(WARNING,
                    (errcode(ERRCODE_DATATYPE_MISMATCH),
                     errmsg("delta-apply label on column \"%s\" of relation \"%s.%s\" is ignored",
                            NameStr(att->attname), e->nspname, e->relname),
                     errdetail("The column's type is now %s.", format_type_be(att->atttypid)),
                     errhint("Delta apply works on columns of type %s; remove the label with "
                             "SECURITY LABEL FOR spock ON COLUMN ... IS NULL.",
                             core::delta_type_list())));
            continue;
        }
        d->is_delta[k] = true;
        fmgr_info_cxt(plus, &d->plus[k], CurrentMemoryContext);
        fmgr_info_cxt(minus, &d->minus[k], CurrentMemoryContext);
        any = true;
    }
    pfree(labelled);
    return any ? d : nullptr;
}

bool* delta_search_columns(const RelMapEntry* e, const bool* cmp, int natts) {
    auto* out = static_cast<bool*>(palloc(sizeof(bool) * (natts + 1)));
    for (int k = 0; k < natts; k++) {
        out[k] = cmp[k] && !(e->delta != nullptr && k < e->delta->natts && e->delta->is_delta[k]);
    }
    return out;
}

bool apply_delta_columns(RelMapEntry* e, TupleTableSlot* local, TupleTableSlot* old_remote,
                         const bool* old_sent, const Datum* new_values, const bool* new_nulls,
                         TupleTableSlot* newrow, bool* sent, bool remote_wins) {
    DeltaColumns* d = e->delta;
    TupleDesc desc = newrow->tts_tupleDescriptor;
    int natts = Min(desc->natts, d->natts);
    slot_getallattrs(local);
    // Which columns the new remote tuple carried (sent[] is rewritten below when local wins).
    bool* received = static_cast<bool*>(palloc(sizeof(bool) * (desc->natts + 1)));
    memcpy(received, sent, sizeof(bool) * desc->natts);
    if (!remote_wins) {
        // The local row stays; only the delta columns move.
        for (int k = 0; k < desc->natts; k++) {
            newrow->tts_values[k] = local->tts_values[k];
            newrow->tts_isnull[k] = local->tts_isnull[k];
            sent[k] = false;
        }
    }
    bool write = remote_wins;
    int computed = 0;
    for (int k = 0; k < natts; k++) {
        if (!d->is_delta[k] || !received[k]) {
            continue;  // not a delta column, or no new value ('u'): the local value stays
        }
        // A key-only old tuple (the provider's RELATION flags key columns: its replica
        // identity is not FULL) carries NULL for the other columns, which is no old value.
        int remote = e->remote_of_local[k];
        bool old_known = old_remote != nullptr && old_sent[k] && remote >= 0 &&
                         (!e->remote_has_key || e->columns[remote].is_key);
        core::DeltaInputs in{old_known, old_remote != nullptr && old_remote->tts_isnull[k],
                             new_nulls[k], local->tts_isnull[k]};
        Datum value = 0;
        bool isnull = false;
        switch (core::decide_delta(in)) {
            case core::DeltaAction::NoOldValue:
                if (!d->warned_no_old) {
                    d->warned_no_old = true;
                    ereport(
                        WARNING,
                        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                         errmsg("delta-apply column \"%s\" of relation \"%s.%s\" received no "
                                "old value",
                                NameStr(TupleDescAttr(desc, k)->attname), e->nspname, e->relname),
                         errdetail("The provider's table does not have REPLICA IDENTITY FULL "
                                   "(any more); the column is applied as a plain column."),
                         errhint("Run ALTER TABLE %s REPLICA IDENTITY FULL on the provider.",
                                 e->relname)));
                }
                continue;  // plain column: newrow already holds the winner's value
            case core::DeltaAction::KeepLocal:
                value = local->tts_values[k];
                isnull = local->tts_isnull[k];
                break;
            case core::DeltaAction::AddDelta:
                value = FunctionCall2(
                    &d->plus[k], local->tts_values[k],
                    FunctionCall2(&d->minus[k], new_values[k], old_remote->tts_values[k]));
                computed++;
                break;
            case core::DeltaAction::AddNew:
                value = FunctionCall2(&d->plus[k], local->tts_values[k], new_values[k]);
                computed++;
                break;
            case core::DeltaAction::TakeNew:
                value = new_values[k];
                break;
            case core::DeltaAction::SetNull:
                isnull = true;
                break;
        }
        Form_pg_attribute att = TupleDescAttr(desc, k);
        if (!isnull && att->atttypid == NUMERICOID && att->atttypmod >= 0) {
            // The sum can outgrow numeric(p, s): check it as an assignment would.
            value = DirectFunctionCall2(numeric, value, Int32GetDatum(att->atttypmod));
        }
        newrow->tts_values[k] = value;
        newrow->tts_isnull[k] = isnull;
        if (!remote_wins) {
            bool same =
                isnull == local->tts_isnull[k] &&
                (isnull || datumIsEqual(value, local->tts_values[k], att->attbyval, att->attlen));
            if (!same) {
                sent[k] = true;
                write = true;
            }
        }
    }
    if (computed > 0) {
        applies++;
        if (observer != nullptr) {
            observer(e->local_relid, computed, !remote_wins);
        }
    }
    return write;
}

}  // namespace detail
}  // namespace spock::apply
