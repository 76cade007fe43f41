// Replay of a remote transaction that failed (docs/exceptions.md; reference §6.7 for how Spock
// 5 does it and where we differ).
//
// When a change (or the commit) of the first pass fails with an error that is not about the
// connection, the shutdown or resources, the local transaction is aborted and the worker keeps
// its process, its connection and its place in the stream: the rest of the remote transaction
// is only recorded. When its COMMIT is in the record, the transaction is replayed from the
// record (memory, then spill file) in a new local transaction, each change in its own
// subtransaction, and handled as spock.exception_behaviour says:
//   discard       failed changes are skipped and logged, the others applied;
//   transdiscard  nothing is applied when a change fails again; every change is logged;
//   sub_disable   as transdiscard, and the subscription is disabled with the origin left
//                 before the transaction, so it is received again after
//                 sub_alter_skiplsn() / sub_enable();
// and under every behaviour a transaction whose error does not recur is applied as sent.
// The replication origin advances in the same local commit that applies (or discards) the
// transaction, and feedback never confirms it before that commit is flushed.
#include "applier.hpp"

#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/private_dir.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"
#include "spock/worker/notify.hpp"

#include "apply_stats.hpp"
#include "spock/apply/channel_stats.hpp"
#include "apply_internal.hpp"
#include "exception_log.hpp"
#include "queue_messages.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <miscadmin.h>
#include <postmaster/postmaster.h>
#include <replication/origin.h>
#include <utils/memutils.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

core::ExceptionBehaviour configured_behaviour() {
    switch (gucs::exception_behaviour) {
        case gucs::kExceptionDiscard:
            return core::ExceptionBehaviour::Discard;
        case gucs::kExceptionSubDisable:
            return core::ExceptionBehaviour::SubDisable;
        default:
            return core::ExceptionBehaviour::TransDiscard;
    }
}

core::ExceptionLogging configured_logging() {
    switch (gucs::exception_logging) {
        case gucs::kExceptionLogNone:
            return core::ExceptionLogging::None;
        case gucs::kExceptionLogDiscard:
            return core::ExceptionLogging::Discard;
        default:
            return core::ExceptionLogging::All;
    }
}

bool is_row_change(const core::ProtocolMessage& m) {
    return std::holds_alternative<core::Insert>(m) || std::holds_alternative<core::Update>(m) ||
           std::holds_alternative<core::Delete>(m) || std::holds_alternative<core::Truncate>(m);
}

// The remote relation, operation and tuples of a change, for its log row.
struct ChangeFacts {
    core::RelId relid = 0;
    const char* operation = nullptr;
    const core::TupleData* old_tuple = nullptr;
    const core::TupleData* new_tuple = nullptr;
};

ChangeFacts facts_of(const core::ProtocolMessage& m) {
    ChangeFacts f;
    if (const auto* i = std::get_if<core::Insert>(&m)) {
        f = {i->relid, "INSERT", nullptr, &i->new_tuple};
    } else if (const auto* u = std::get_if<core::Update>(&m)) {
        f = {u->relid, "UPDATE", u->old_tuple ? &u->old_tuple->tuple : nullptr, &u->new_tuple};
    } else if (const auto* d = std::get_if<core::Delete>(&m)) {
        f = {d->relid, "DELETE", &d->old_tuple.tuple, nullptr};
    } else if (const auto* t = std::get_if<core::Truncate>(&m)) {
        f = {t->relids.empty() ? 0 : t->relids[0], "TRUNCATE", nullptr, nullptr};
    }
    return f;
}

}  // namespace

std::string spill_directory() {
    // <data directory>/pg_spock/replay, private to the server's OS user; or, when
    // spock.temp_directory names a directory, a private subdirectory of it whose name is unique
    // to this server (system identifier and port), so that servers sharing the directory never
    // see or remove each other's files.
    const char* base = gucs::temp_directory;
    if (base == nullptr || base[0] == '\0') {
        return pg::spock_private_dir("replay");
    }
    return pg::private_subdir_of(base, "spock_replay." + std::to_string(GetSystemIdentifier()) +
                                           "." + std::to_string(PostPortNumber));
}

// A long replay reads nothing from the connection; the provider must still hear from us
// within wal_sender_timeout, or it ends the connection and the transaction is sent again.
// Feedback never confirms the transaction being replayed (it is still open).
void Applier::keep_provider_informed() {
    TimestampTz now = GetCurrentTimestamp();
    if (idle_ && TimestampDifferenceExceeds(last_informed_, now, 1000)) {
        last_informed_ = now;
        idle_();
    }
}

void Applier::log_left_out(std::uint64_t left_out) {
    if (left_out == 0) {
        return;
    }
    pg::pg_call([&] {
        ereport(LOG, (errmsg("%llu more replayed transactions of subscription \"%s\" were logged "
                             "at DEBUG1 only in the previous 10 seconds",
                             static_cast<unsigned long long>(left_out), cfg_.name.c_str()),
                      errhint("spock.exception_log and spock.apply_stats() record every one.")));
    });
}

void Applier::log_replay_summary() {
    log_left_out(replay_log_.take_ended(GetCurrentTimestamp()));
}

void Applier::fail(const core::Error& error) {
    first_error_ = core::error_text(error.sqlstate(), error.message(), error.detail());
    pg::abort_xact();
    if (on_failure_) {
        on_failure_(error);  // after the abort: the rows this transaction held are free
    }
    channel_stats_discard();
    local_txn_ = false;
    failed_ = true;
    if (change_cxt_ != nullptr) {
        MemoryContext cxt = change_cxt_;
        pg::pg_call([cxt] { MemoryContextReset(cxt); });
    }
    std::string lsn = txn_.commit_lsn.to_string();
    std::string behaviour(core::behaviour_name(configured_behaviour()));
    // At most 10 replays a 10-second window are logged at LOG, the others at DEBUG1, with a
    // line saying how many were left out: a conflict storm must not flood the server log
    // (spock.exception_log and spock.apply_stats() keep every one).
    std::uint64_t left_out = 0;
    replay_loud_ = replay_log_.admit(GetCurrentTimestamp(), &left_out);
    log_left_out(left_out);
    const int elevel = replay_loud_ ? LOG : DEBUG1;
    pg::pg_call([&] {
        ereport(elevel, (errmsg("remote transaction %u of subscription \"%s\" committing at %s "
                                "failed; it is replayed under spock.exception_behaviour = %s",
                                txn_.xid, cfg_.name.c_str(), lsn.c_str(), behaviour.c_str()),
                         errdetail_internal("%s", first_error_.c_str())));
    });
}

core::ReplayOutcome Applier::replay_pass(core::ExceptionBehaviour behaviour, bool execute,
                                         const std::string& forced_error, ReplayResults& results) {
    ensure_local_txn();
    const bool outer = behaviour != core::ExceptionBehaviour::Discard;
    pg::Subxact outer_sx;
    if (outer) {
        outer_sx = pg::begin_subxact();
    }
    bool any_failed = false;
    auto reader = record_.reader();
    std::string_view payload;
    size_t seen = 0;
    while (reader.next(payload)) {
        core::ProtocolMessage m = core::decode_message(payload);
        if (std::holds_alternative<core::Begin>(m) || std::holds_alternative<core::Commit>(m)) {
            continue;
        }
        if (++seen % 1024 == 0) {
            keep_provider_informed();
        }
        if (!is_row_change(m)) {
            apply_change(m);  // ORIGIN, RELATION
            continue;
        }
        ChangeResult r;
        r.counter = next_command_counter();
        if (!execute) {
            // Every change fails with the same error: one entry for all of them.
            if (results.failures.empty()) {
                FailedChange f;
                f.error = forced_error;
                results.failures.push_back(std::move(f));
            }
            r.failure = 0;
        } else {
            pg::Subxact sx = pg::begin_subxact();
            pg::pg_call([] { detail::begin_local_capture(); });
            try {
                apply_change(m);
                pg::pg_call([] { flush_pending(); });
                detail::end_local_capture();
                pg::release_subxact(sx);
            } catch (const core::Error& e) {
                detail::end_local_capture();
                if (!core::is_replayable_error(e.sqlstate())) {
                    throw;
                }
                pg::rollback_subxact(sx);
                FailedChange f;
                f.error = core::error_text(e.sqlstate(), e.message(), e.detail());
                if (const detail::LocalRowCapture* c = detail::captured_local_row()) {
                    f.local_json = c->tuple_json;
                    f.local_origin_known = c->origin_known;
                    // A row made on this node is reported with the local node's id.
                    f.local_origin = c->local_change ? cfg_.local : c->node;
                    f.local_commit_ts = c->commit_ts;
                }
                r.failure = static_cast<int32>(results.failures.size());
                results.failures.push_back(std::move(f));
            }
        }
        any_failed = any_failed || r.failed();
        results.changes.push_back(r);
    }
    core::ReplayOutcome outcome = core::replay_outcome(behaviour, any_failed);
    if (outer) {
        if (outcome == core::ReplayOutcome::Applied) {
            pg::release_subxact(outer_sx);
        } else {
            pg::rollback_subxact(outer_sx);
            channel_stats_discard();
        }
    }
    return outcome;
}

void Applier::log_replayed_changes(core::ReplayOutcome outcome, core::ExceptionBehaviour behaviour,
                                   const ReplayResults& results) {
    const core::ExceptionLogging logging = configured_logging();
    const ChangeResult* first_failed = nullptr;
    for (const ChangeResult& r : results.changes) {
        if (r.failed()) {
            first_failed = &r;
            break;
        }
    }
    if (first_failed == nullptr) {
        return;
    }
    const std::string& first_error = results.failures[first_failed->failure].error;
    size_t index = 0;
    auto reader = record_.reader();
    std::string_view payload;
    while (reader.next(payload) && index < results.changes.size()) {
        core::ProtocolMessage m = core::decode_message(payload);
        if (!is_row_change(m)) {
            continue;
        }
        if (index % 1024 == 1023) {
            keep_provider_informed();
        }
        const ChangeResult& r = results.changes[index++];
        if (!core::log_change(logging, outcome, r.failed())) {
            continue;
        }
        std::string message;
        const FailedChange* failure = r.failed() ? &results.failures[r.failure] : nullptr;
        if (failure != nullptr) {
            message = failure->error;
        } else if (!core::change_kept(outcome, r.failed())) {
            message = core::collateral_message(behaviour, first_failed->counter, first_error);
        } else {
            message = "applied on replay; change " + std::to_string(first_failed->counter) +
                      " of the transaction failed: " + first_error;
        }
        ChangeFacts f = facts_of(m);
        const TableKey* table = nullptr;
        if (auto it = relnames_.find(f.relid); it != relnames_.end()) {
            table = &it->second;
        }
        ExceptionLogEntry e{};
        e.remote_origin = txn_.origin_node;
        e.remote_commit_ts = txn_.commit_time.value;
        e.command_counter = static_cast<int32>(r.counter);
        e.remote_xid = txn_.xid;
        e.table_schema = table ? table->first.c_str() : nullptr;
        e.table_name = table ? table->second.c_str() : nullptr;
        e.operation = f.operation;
        e.error_message = message.c_str();
        // A queued DDL statement is logged as DDL with its text and role.
        std::string ddl_statement, ddl_user;
        if (table != nullptr && is_queue_relation(table->first, table->second)) {
            if (const auto* ins = std::get_if<core::Insert>(&m);
                ins != nullptr && queued_ddl_of(*ins, &ddl_statement, &ddl_user)) {
                e.operation = "DDL";
                e.ddl_statement = ddl_statement.c_str();
                e.ddl_user = ddl_user.c_str();
            }
        }
        if (failure != nullptr && !failure->local_json.empty()) {
            e.local_tup_json = failure->local_json.c_str();
            e.local_origin_known = failure->local_origin_known;
            e.local_origin = failure->local_origin;
            e.local_commit_ts = failure->local_commit_ts;
        }
        // The tuples are rendered in a subtransaction of their own: a value this node cannot
        // read must not lose the row.
        pg::Subxact sx = pg::begin_subxact();
        try {
            per_change([&] {
                ExceptionLogEntry full = e;
                full.remote_old_json =
                    f.old_tuple ? remote_tuple_json(f.relid, *f.old_tuple) : nullptr;
                full.remote_new_json =
                    f.new_tuple ? remote_tuple_json(f.relid, *f.new_tuple) : nullptr;
                insert_exception_log(full);
            });
            pg::release_subxact(sx);
        } catch (const core::Error&) {
            pg::rollback_subxact(sx);
            per_change([&] { insert_exception_log(e); });
        }
    }
}

void Applier::disable_subscription(const core::Commit& commit) {
    // Committed without the origin: the transaction stays ahead of the subscription's
    // position, so it is received again once the subscription is enabled.
    RepOriginId origin = pg::pg_call([] {
        RepOriginId o = replorigin_session_origin;
        replorigin_session_origin = InvalidRepOriginId;
        replorigin_session_origin_lsn = InvalidXLogRecPtr;
        replorigin_session_origin_timestamp = 0;
        return o;
    });
    std::string lsn = txn_.commit_lsn.to_string();
    std::string message =
        "disabling subscription " + cfg_.name + " due to exception(s) - skip_lsn = " + lsn;
    pg::spi_connect();
    pg::spi_exec("UPDATE spock.subscription SET sub_enabled = false WHERE sub_id = $1::oid",
                 {std::to_string(cfg_.id)});
    pg::spi_finish();
    ExceptionLogEntry e{};
    e.remote_origin = txn_.origin_node;
    e.remote_commit_ts = txn_.commit_time.value;
    e.command_counter = next_command_counter();
    e.remote_xid = txn_.xid;
    e.operation = "SUB_DISABLE";
    e.error_message = message.c_str();
    per_change([&] { insert_exception_log(e); });
    worker::notify_at_commit(cfg_.id);
    pg::commit_xact();
    local_txn_ = false;
    report_conflicts();
    pg::pg_call([origin] { replorigin_session_origin = origin; });
    disabled_ = true;
    (void)commit;
    pg::pg_call([&] {
        ereport(WARNING,
                (errmsg("subscription \"%s\" disabled: remote transaction %u committing at %s "
                        "failed",
                        cfg_.name.c_str(), txn_.xid, lsn.c_str()),
                 errdetail_internal("%s", first_error_.c_str()),
                 errhint("Fix the cause and run spock.sub_enable('%s'), or skip the transaction "
                         "with spock.sub_alter_skiplsn('%s', '%s') first; spock.exception_log "
                         "has the details.",
                         cfg_.name.c_str(), cfg_.name.c_str(), lsn.c_str())));
    });
}

void Applier::replay(const core::Commit& commit) {
    if (before_replay_) {
        before_replay_();
    }
    replaying_ = true;
    ErrorContextCallback callback;
    callback.callback = error_context;
    callback.arg = this;
    callback.previous = error_context_stack;
    error_context_stack = &callback;
    core::ExceptionBehaviour behaviour = configured_behaviour();
    ReplayResults results;
    core::ReplayOutcome outcome;
    auto finish = [&](core::ReplayOutcome o, core::ExceptionBehaviour b) {
        log_replayed_changes(o, b, results);
        if (o == core::ReplayOutcome::Disable) {
            disable_subscription(commit);
            return;
        }
        // A transaction that wrote nothing has no commit record, and only a commit record
        // moves the origin: make sure there is one.
        pg::pg_call([] { (void)GetCurrentTransactionId(); });
        commit_local(commit);
    };
    try {
        try {
            outcome = replay_pass(behaviour, true, "", results);
            finish(outcome, behaviour);
        } catch (const core::Error& e) {
            if (committed_ || disabled_ || !core::is_replayable_error(e.sqlstate())) {
                throw;
            }
            // The replay itself failed (a deferred constraint at its commit, say): nothing of
            // the transaction is applied, and every change is reported with that error.
            std::string error = core::error_text(e.sqlstate(), e.message(), e.detail());
            pg::abort_xact();
            channel_stats_discard();
            local_txn_ = false;
            results.clear();
            if (behaviour == core::ExceptionBehaviour::Discard) {
                behaviour = core::ExceptionBehaviour::TransDiscard;
            }
            outcome = replay_pass(behaviour, false, error, results);
            finish(outcome, behaviour);
        }
    } catch (...) {
        error_context_stack = callback.previous;
        replaying_ = false;
        throw;
    }
    error_context_stack = callback.previous;
    replaying_ = false;
    uint64 discarded = 0;
    for (const ChangeResult& r : results.changes) {
        if (!core::change_kept(outcome, r.failed())) {
            discarded++;
        }
    }
    count_replay(cfg_.id, outcome, discarded, first_error_);
    std::string lsn = txn_.commit_lsn.to_string();
    const char* what = outcome == core::ReplayOutcome::Applied ? "applied in full"
                       : outcome == core::ReplayOutcome::PartlyApplied
                           ? "applied without its failed changes"
                       : outcome == core::ReplayOutcome::Discarded ? "discarded"
                                                                   : "not applied";
    size_t nchanges = results.changes.size();
    pg::pg_call([&] {
        ereport(replay_loud_ ? LOG : DEBUG1,
                (errmsg("replayed remote transaction %u of subscription \"%s\" committing "
                        "at %s: %s (%zu changes, %llu not applied)",
                        txn_.xid, cfg_.name.c_str(), lsn.c_str(), what, nchanges,
                        static_cast<unsigned long long>(discarded))));
    });
    if (disabled_) {
        return;  // in_remote_txn_ stays set: nothing more is confirmed to the provider
    }
    finish_remote_txn(commit);
    if (record_.spilled()) {
        count_spill(cfg_.id, record_.spilled_bytes());
    }
    record_.clear();
}

}  // namespace spock::apply
