// Conflict detection, resolution and reporting (reference §6.5, §6.6).
//
// The local row's commit time and origin come from the commit timestamp record of its xmin.
// Its origin is a replication origin id; under our origin scheme (spock/catalog/origins.hpp)
// that id names a subscription (or a forwarded origin of one), which node_for_origin() turns
// into the spock node the row came from. spock.resolutions and the log speak in node ids, like
// Spock's.
#include "apply_internal.hpp"

#include "spock/catalog/origins.hpp"
#include "spock/pg/gucs.hpp"

extern "C" {
#include <access/commit_ts.h>
#include <access/htup_details.h>
#include <access/transam.h>
#include <access/xact.h>
#include <catalog/pg_type.h>
#include <executor/executor.h>
#include <executor/spi.h>
#include <replication/origin.h>
#include <utils/builtins.h>
#include <utils/fmgrprotos.h>
#include <utils/lsyscache.h>
#include <utils/pg_lsn.h>
#include <utils/rel.h>
#include <utils/snapmgr.h>
#include <utils/timestamp.h>
}

namespace spock::apply::detail {
namespace {

core::ConflictPolicy configured_policy() {
    switch (gucs::conflict_resolution) {
        case gucs::kResolveError:
            return core::ConflictPolicy::Error;
        case gucs::kResolveApplyRemote:
            return core::ConflictPolicy::ApplyRemote;
        case gucs::kResolveKeepLocal:
            return core::ConflictPolicy::KeepLocal;
        case gucs::kResolveFirstUpdateWins:
            return core::ConflictPolicy::FirstUpdateWins;
        default:
            return core::ConflictPolicy::LastUpdateWins;
    }
}

// The remote operation a conflict type belongs to, for the log line.
const char* conflict_action(ConflictType t) {
    switch (t) {
        case ConflictType::InsertExists:
        case ConflictType::MultipleUniqueConflicts:
        case ConflictType::InsertDeleted:
            return "INSERT";
        case ConflictType::UpdateOriginDiffers:
        case ConflictType::UpdateExists:
        case ConflictType::UpdateMissing:
        case ConflictType::UpdateDeleted:
            return "UPDATE";
        case ConflictType::DeleteOriginDiffers:
        case ConflictType::DeleteMissing:
        case ConflictType::DeleteExists:
            return "DELETE";
    }
    return "unknown";
}

// A remote change that found its row last written by another origin and was applied: ordinary
// multi-master traffic, counted but only logged under spock.log_origin_change (§6.6).
bool origin_change_applied(ConflictType t, Resolution r) {
    return (t == ConflictType::UpdateOriginDiffers || t == ConflictType::DeleteOriginDiffers) &&
           r == Resolution::ApplyRemote;
}

const char* resolution_name(Resolution r) {
    switch (r) {
        case Resolution::ApplyRemote:
            return "apply_remote";
        case Resolution::KeepLocal:
            return "keep_local";
        case Resolution::Skip:
            return "skip";
        case Resolution::Error:
            return "error";
    }
    return "unknown";
}

char* qualified_name(Relation rel) {
    return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
                                      RelationGetRelationName(rel));
}

// The first column of the first row of a read-only query, as an int64 (int8 or timestamptz).
// nargs is 0 or 1.
bool query_int64(const char* sql, int nargs, Oid argtype, Datum arg, int64* out) {
    bool pushed = false;
    if (!ActiveSnapshotSet()) {
        PushActiveSnapshot(GetTransactionSnapshot());
        pushed = true;
    }
    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    Oid types[1] = {argtype};
    Datum values[1] = {arg};
    int rc = SPI_execute_with_args(sql, nargs, types, values, nullptr, true, 1);
    if (rc != SPI_OK_SELECT) {
        elog(ERROR, "SPI_execute_with_args failed: %s", SPI_result_code_string(rc));
    }
    bool found = false;
    if (SPI_processed > 0) {
        bool isnull;
        Datum d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
        if (!isnull) {
            *out = DatumGetInt64(d);
            found = true;
        }
    }
    SPI_finish();
    if (pushed) {
        PopActiveSnapshot();
    }
    return found;
}

// A node's tiebreaker: info->>'tiebreaker' when it is an integer, else the node id.
#define SPOCK_TIEBREAKER_EXPR                                      \
    "CASE WHEN n.info->>'tiebreaker' ~ '^\\s*-?[0-9]{1,18}\\s*$' " \
    "THEN btrim(n.info->>'tiebreaker')::int8 ELSE n.node_id::int8 END"

bool local_tiebreaker(int64* out) {
    return query_int64("SELECT " SPOCK_TIEBREAKER_EXPR
                       " FROM spock.local_node l JOIN spock.node n ON n.node_id = l.node_id",
                       0, InvalidOid, (Datum)0, out);
}

int64 node_tiebreaker(Oid node) {
    int64 tb;
    if (query_int64("SELECT " SPOCK_TIEBREAKER_EXPR " FROM spock.node n WHERE n.node_id = $1", 1,
                    OIDOID, ObjectIdGetDatum(node), &tb)) {
        return tb;
    }
    return static_cast<int64>(node);
}

[[noreturn]] void raise_conflict_error(ConflictType type, const RemoteTxn& txn, Relation rel,
                                       Oid index) {
    const char* idx = OidIsValid(index) ? get_rel_name(index) : nullptr;
    if (type == ConflictType::InsertExists) {
        ereport(ERROR, (errcode(ERRCODE_UNIQUE_VIOLATION),
                        errmsg("remote INSERT into relation %s conflicts with an existing row",
                               qualified_name(rel)),
                        idx ? errdetail("A row with the same key exists in index \"%s\"; "
                                        "spock.conflict_resolution is error.",
                                        idx)
                            : 0));
    }
    ereport(ERROR,
            (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
             errmsg("remote %s on relation %s from node %u conflicts with a row last changed "
                    "elsewhere",
                    conflict_action(type), qualified_name(rel), txn.origin_node),
             errdetail("spock.conflict_resolution is error."),
             errhint("The transaction is handled under spock.exception_behaviour; any other "
                     "spock.conflict_resolution resolves such conflicts.")));
    pg_unreachable();
}

char* row_json(TupleTableSlot* slot) {
    Datum composite = ExecFetchSlotHeapTupleDatum(slot);
    Datum json = DirectFunctionCall1(row_to_json, composite);
    return text_to_cstring(DatumGetTextPP(json));
}

void save_resolution(const RemoteTxn& txn, const ConflictReport& r, const ConflictTexts& t) {
    static const char* sql =
        "INSERT INTO spock.resolutions (node_name, log_time, relname, idxname, conflict_type, "
        "conflict_resolution, local_origin, local_tuple, local_xid, local_timestamp, "
        "remote_origin, remote_tuple, remote_xid, remote_timestamp, remote_lsn) "
        "SELECT n.node_name, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14 "
        "FROM spock.local_node l JOIN spock.node n ON n.node_id = l.node_id";
    constexpr int kArgs = 14;
    Oid types[kArgs] = {TIMESTAMPTZOID, TEXTOID, TEXTOID,        TEXTOID,        TEXTOID,
                        INT4OID,        TEXTOID, XIDOID,         TIMESTAMPTZOID, INT4OID,
                        TEXTOID,        XIDOID,  TIMESTAMPTZOID, LSNOID};
    Datum v[kArgs];
    char nulls[kArgs];
    memset(v, 0, sizeof v);
    memset(nulls, ' ', sizeof nulls);
    auto set_text = [&](int i, const char* s) {
        if (s == nullptr) {
            nulls[i] = 'n';
        } else {
            v[i] = CStringGetTextDatum(s);
        }
    };
    const LocalOrigin* lo = r.origin;
    v[0] = TimestampTzGetDatum(GetCurrentTimestamp());
    set_text(1, qualified_name(r.rel));
    set_text(2, OidIsValid(r.index) ? get_rel_name(r.index) : nullptr);
    set_text(3, core::conflict_type_name(r.type));
    set_text(4, resolution_name(r.resolution));
    if (lo == nullptr || lo->frozen) {
        nulls[5] = 'n';
    } else if (lo->local_change) {
        v[5] = Int32GetDatum(0);
    } else if (OidIsValid(lo->node)) {
        v[5] = Int32GetDatum(static_cast<int32>(lo->node));
    } else {
        nulls[5] = 'n';
    }
    set_text(6, t.local_json);
    if (lo == nullptr) {
        nulls[7] = 'n';
    } else {
        v[7] = TransactionIdGetDatum(lo->xmin);
    }
    if (lo == nullptr || lo->frozen || lo->commit_ts == 0) {
        nulls[8] = 'n';
    } else {
        v[8] = TimestampTzGetDatum(lo->commit_ts);
    }
    v[9] = Int32GetDatum(static_cast<int32>(txn.origin_node));
    set_text(10, t.remote_json);
    v[11] = TransactionIdGetDatum(txn.xid);
    v[12] = TimestampTzGetDatum(txn.commit_time.value);
    v[13] = LSNGetDatum(txn.commit_lsn.value);

    if (SPI_connect() != SPI_OK_CONNECT) {
        elog(ERROR, "SPI_connect failed");
    }
    int rc = SPI_execute_with_args(sql, kArgs, types, v, nulls, false, 0);
    if (rc != SPI_OK_INSERT) {
        elog(ERROR, "could not record the conflict in spock.resolutions: %s",
             SPI_result_code_string(rc));
    }
    if (SPI_processed == 0) {
        elog(DEBUG1, "conflict not recorded in spock.resolutions: no local spock node");
    }
    SPI_finish();
}

const char* origin_text(const LocalOrigin* lo) {
    if (lo->frozen) {
        return "unknown";
    }
    if (lo->local_change) {
        return "local";
    }
    if (OidIsValid(lo->node)) {
        return psprintf("%u", lo->node);
    }
    return psprintf("origin id %u", static_cast<unsigned>(lo->roident));
}

void log_conflict(int elevel, const RemoteTxn& txn, const ConflictReport& r,
                  const ConflictTexts& t) {
    const char* where = "";
    if (r.type == ConflictType::UpdateMissing || r.type == ConflictType::DeleteMissing ||
        r.type == ConflictType::UpdateDeleted || r.type == ConflictType::InsertDeleted) {
        where = " (tuple not found)";
    } else if (OidIsValid(r.index)) {
        where = psprintf(" (local index %s)", get_rel_name(r.index));
    }
    const char* local = "";
    if (r.origin != nullptr && t.local_desc != nullptr) {
        const LocalOrigin* lo = r.origin;
        local = psprintf("Existing local tuple %s xid=%u, origin=%s, timestamp=%s; ", t.local_desc,
                         lo->xmin, origin_text(lo),
                         lo->frozen ? "unknown" : timestamptz_to_str(lo->commit_ts));
    }
    ereport(elevel, (errmsg("CONFLICT: %s: remote %s on relation %s%s. Resolution: %s.",
                            core::conflict_type_name(r.type), conflict_action(r.type),
                            qualified_name(r.rel), where, resolution_name(r.resolution)),
                     errdetail("%s%s tuple %s in xact origin=%u, timestamp=%s, commit_lsn=%X/%X.",
                               local, *local ? "remote" : "Remote",
                               t.remote_desc != nullptr ? t.remote_desc : "(none)", txn.origin_node,
                               timestamptz_to_str(txn.commit_time.value),
                               static_cast<uint32>(txn.commit_lsn.value >> 32),
                               static_cast<uint32>(txn.commit_lsn.value))));
}

// Conflict log lines are rate-limited per conflict type in this process, which is one
// subscription's apply worker (docs/conflicts.md). Plain data, set up before main().
core::ConflictLogLimiter log_limiter;
int summary_level[core::kConflictTypeCount];
core::ConflictCounts conflict_counts;

void log_summary(int elevel, const core::ConflictLogLimiter::Summary& s) {
    ereport(elevel,
            (errmsg("CONFLICT: %llu more conflicts of type %s in the %d s from %s were not logged "
                    "individually",
                    static_cast<unsigned long long>(s.suppressed), core::conflict_type_name(s.type),
                    static_cast<int>(core::ConflictLogLimiter::kWindowUs / USECS_PER_SEC),
                    timestamptz_to_str(s.window_start_us)),
             errdetail("At most %u conflicts of a type are logged in detail per %d s by an apply "
                       "worker; spock.sub_conflict_stats counts every one, and "
                       "spock.resolutions records them when spock.save_resolutions is on.",
                       core::ConflictLogLimiter::kLinesPerWindow,
                       static_cast<int>(core::ConflictLogLimiter::kWindowUs / USECS_PER_SEC))));
}

void log_conflict_limited(int elevel, const RemoteTxn& txn, const ConflictReport& r,
                          const ConflictTexts& t) {
    core::ConflictLogLimiter::Summary ended;
    bool have_ended;
    bool detail = log_limiter.admit(r.type, GetCurrentTimestamp(), &ended, &have_ended);
    if (have_ended) {
        log_summary(summary_level[core::conflict_index(ended.type)], ended);
    }
    summary_level[core::conflict_index(r.type)] = elevel;
    if (detail) {
        log_conflict(elevel, txn, r, t);
    }
}

bool origin_change_logged(const RemoteTxn& txn, const LocalOrigin* lo) {
    if (lo == nullptr || lo->ours || lo->frozen) {
        return false;
    }
    switch (gucs::log_origin_change) {
        case gucs::kOriginChangeRemoteOnlyDiffers:
            return !lo->local_change;
        case gucs::kOriginChangeSinceSub: {
            int64 created;
            if (!OidIsValid(txn.subscription_id) ||
                !query_int64("SELECT sub_created_at FROM spock.subscription WHERE sub_id = $1", 1,
                             OIDOID, ObjectIdGetDatum(txn.subscription_id), &created)) {
                return false;
            }
            return lo->commit_ts >= created;
        }
        default:
            return false;
    }
}

}  // namespace

core::ConflictPolicy conflict_policy() {
    return configured_policy();
}

int64 tiebreaker_of_node(Oid node) {
    int64 tb;
    if (node == InvalidOid) {
        return local_tiebreaker(&tb) ? tb : 0;
    }
    return node_tiebreaker(node);
}

void read_local_origin(const RemoteTxn& txn, TupleTableSlot* localslot, LocalOrigin* out) {
    memset(out, 0, sizeof *out);
    bool should_free;
    HeapTuple tup = ExecFetchSlotHeapTuple(localslot, false, &should_free);
    TransactionId xmin = HeapTupleHeaderGetXmin(tup->t_data);  // FrozenTransactionId if frozen
    if (should_free) {
        heap_freetuple(tup);
    }
    out->xmin = xmin;
    out->node = InvalidOid;
    if (!TransactionIdIsNormal(xmin)) {
        out->frozen = true;
        return;
    }
    if (TransactionIdIsCurrentTransactionId(xmin)) {
        out->ours = true;
        out->roident = replorigin_session_origin;
        out->commit_ts = replorigin_session_origin_timestamp;
        out->node = txn.origin_node;
        return;
    }
    if (!track_commit_timestamp) {
        out->frozen = true;
        return;
    }
    TimestampTz ts = 0;
    RepOriginId roident = InvalidRepOriginId;
    if (!TransactionIdGetCommitTsData(xmin, &ts, &roident) || ts == 0) {
        out->frozen = true;  // committed before commit timestamps were kept
        return;
    }
    out->commit_ts = ts;
    out->roident = roident;
    if (roident == InvalidRepOriginId) {
        out->local_change = true;
    } else {
        out->node = catalog::node_for_origin(roident);
    }
}

bool origin_differs(const RemoteTxn& txn, const LocalOrigin& lo) {
    if (lo.ours) {
        return false;
    }
    if (lo.frozen || lo.local_change || !OidIsValid(lo.node)) {
        return true;
    }
    return lo.node != txn.origin_node;
}

Resolution decide_conflict(ConflictType type, const RemoteTxn& txn, const LocalOrigin& lo,
                           Relation rel, Oid index) {
    core::ConflictPolicy policy = configured_policy();
    if ((policy == core::ConflictPolicy::LastUpdateWins ||
         policy == core::ConflictPolicy::FirstUpdateWins) &&
        !track_commit_timestamp) {
        ereport(
            ERROR,
            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
             errmsg("cannot resolve a conflict on relation %s by commit time", qualified_name(rel)),
             errdetail("track_commit_timestamp is off, so the local row's commit time is "
                       "unknown."),
             errhint("Set track_commit_timestamp = on and restart the server, or set "
                     "spock.conflict_resolution to apply_remote, keep_local or error.")));
    }
    core::LocalRowState st;
    st.written_by_current_transaction = lo.ours;
    st.frozen_or_unknown = lo.frozen;
    st.commit_time = core::TimestampUs{lo.commit_ts};
    st.same_origin_as_remote =
        !lo.local_change && !lo.frozen && OidIsValid(lo.node) && lo.node == txn.origin_node;
    core::ConflictWinner w = core::resolve_conflict(policy, st, txn.commit_time);
    if (w == core::ConflictWinner::NeedTiebreak) {
        int64 local_tb;
        bool have_local = local_tiebreaker(&local_tb);
        int64 remote_tb = node_tiebreaker(txn.origin_node);
        core::TiebreakResult t = have_local
                                     ? core::resolve_tiebreak(local_tb, remote_tb)
                                     : core::TiebreakResult{core::ConflictWinner::Remote, true};
        w = t.winner;
        if (t.unresolved) {
            ereport(WARNING,
                    (errmsg("conflicting changes to relation %s were committed at the same time "
                            "on nodes with equal tiebreakers",
                            qualified_name(rel)),
                     errdetail("The remote change from node %u is applied.", txn.origin_node)));
        }
    }
    if (w == core::ConflictWinner::Error) {
        raise_conflict_error(type, txn, rel, index);
    }
    return w == core::ConflictWinner::Remote ? Resolution::ApplyRemote : Resolution::KeepLocal;
}

void note_conflict(ConflictType type) {
    conflict_counts.add(type);
}

bool conflict_reporting_wanted(ConflictType type, Resolution resolution) {
    if (origin_change_applied(type, resolution)) {
        return gucs::log_origin_change != gucs::kOriginChangeNone;
    }
    if (resolution == Resolution::Error) {
        return message_level_is_interesting(gucs::conflict_log_level);
    }
    return gucs::save_resolutions || message_level_is_interesting(gucs::conflict_log_level);
}

void capture_conflict_texts(const ConflictReport& r, ConflictTexts* out) {
    memset(out, 0, sizeof *out);
    if (!conflict_reporting_wanted(r.type, r.resolution)) {
        return;
    }
    // The texts of a log line the rate limit will suppress are not worth rendering.
    bool origin_change = origin_change_applied(r.type, r.resolution);
    bool log = (origin_change || message_level_is_interesting(gucs::conflict_log_level)) &&
               log_limiter.would_log(r.type, GetCurrentTimestamp());
    bool save = gucs::save_resolutions && !origin_change && r.resolution != Resolution::Error;
    if (r.local != nullptr) {
        out->local_desc = log ? describe_slot(r.local) : nullptr;
        out->local_json = save ? row_json(r.local) : nullptr;
    }
    if (r.remote != nullptr) {
        out->remote_desc = log ? describe_slot(r.remote) : nullptr;
        out->remote_json = save ? row_json(r.remote) : nullptr;
    }
}

void report_conflict(const RemoteTxn& txn, const ConflictReport& r, const ConflictTexts& texts) {
    if (origin_change_applied(r.type, r.resolution)) {
        // The normal case of replication: not a conflict worth recording (§6.6).
        if (gucs::log_origin_change != gucs::kOriginChangeNone &&
            origin_change_logged(txn, r.origin)) {
            log_conflict_limited(LOG, txn, r, texts);
        }
        return;
    }
    if (message_level_is_interesting(gucs::conflict_log_level)) {
        log_conflict_limited(gucs::conflict_log_level, txn, r, texts);
    }
    // A conflict resolved by an error is about to roll the change back, and the record with it;
    // the error reaches spock.exception_log through replay instead.
    if (gucs::save_resolutions && r.resolution != Resolution::Error) {
        save_resolution(txn, r, texts);
    }
}

bool tiebreaker_of_local_node(int64* out) {
    return local_tiebreaker(out);
}

}  // namespace spock::apply::detail

namespace spock::apply {

core::ConflictCounts& pending_conflicts() {
    return detail::conflict_counts;
}

void log_conflict_summaries() {
    core::ConflictLogLimiter::Summary due[core::kConflictTypeCount];
    int n = detail::log_limiter.expire(GetCurrentTimestamp(), due);
    for (int i = 0; i < n; i++) {
        detail::log_summary(detail::summary_level[core::conflict_index(due[i].type)], due[i]);
    }
}

}  // namespace spock::apply
