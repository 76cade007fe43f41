// The first pass of the transaction applier: messages applied as they arrive, one local
// transaction per remote transaction. See applier.hpp; replay of a failed transaction is in
// replay.cpp.
#include "applier.hpp"

#include <algorithm>

#include "spock/apply/channel_stats.hpp"
#include "spock/catalog/origins.hpp"
#include "spock/core/origin_names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/standby_slots.hpp"
#include "spock/pg/waits.hpp"
#include "spock/pg/xact.hpp"
#include "spock/sync/table_resync.hpp"

#include "apply_stats.hpp"
#include "ddl_apply.hpp"
#include "queue_dedup.hpp"
#include "queue_messages.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <replication/origin.h>
#include <utils/memutils.h>
#include <utils/timestamp.h>
}

namespace spock::apply {

Applier::Applier(const SubConfig& cfg, worker::WorkerSlot* slot, std::uint32_t process)
    : cfg_(cfg),
      slot_(slot),
      record_(spill_directory(),
              "sub_" + std::to_string(cfg.id) + (process ? "w" + std::to_string(process) : "")),
      process_(process),
      skip_lsn_(cfg.skip_lsn) {}

// Every error raised while applying names the remote transaction, so a DBA can find it.
void Applier::error_context(void* arg) {
    auto* self = static_cast<Applier*>(arg);
    if (!self->in_remote_txn_) {
        return;
    }
    uint64_t lsn = self->txn_.commit_lsn.value;
    errcontext("%s remote transaction %u of subscription \"%s\" from node %u, committing at %X/%X",
               self->replaying_ ? "replaying" : "applying", self->txn_.xid, self->cfg_.name.c_str(),
               self->txn_.origin_node, static_cast<uint32>(lsn >> 32), static_cast<uint32>(lsn));
}

void Applier::handle(std::string_view payload, const core::ProtocolMessage& msg) {
    const bool begin = std::holds_alternative<core::Begin>(msg);
    if (begin) {
        record_.set_memory_limit(static_cast<size_t>(gucs::exception_replay_queue_size));
        record_.clear();
        record_lost_ = false;
    }
    if ((begin || in_remote_txn_) && !record_lost_) {
        try {
            record_.append(payload);
        } catch (const core::Error& e) {
            if (failed_) {
                throw;  // the failed transaction cannot be replayed: it is received again
            }
            lose_record(e);
        }
    }
    if (failed_) {
        // The rest of a failed transaction is only recorded; its COMMIT starts the replay.
        if (const auto* c = std::get_if<core::Commit>(&msg)) {
            replay(*c);
        }
        return;
    }
    ErrorContextCallback callback;
    callback.callback = error_context;
    callback.arg = this;
    callback.previous = error_context_stack;
    error_context_stack = &callback;
    try {
        dispatch(msg);
    } catch (const core::Error& e) {
        error_context_stack = callback.previous;
        // A deadlock in a parallel apply process is a wait on another process's transaction:
        // replaying could meet it again, so the leader restarts the set instead.
        if (!in_remote_txn_ || committed_ || !core::is_replayable_error(e.sqlstate()) ||
            (process_ != 0 && e.sqlstate() == "40P01")) {
            throw;
        }
        if (record_lost_) {
            // Nothing to replay from: the worker restarts and receives the transaction again.
            pg::pg_call([&] {
                ereport(WARNING,
                        (errmsg("remote transaction %u of subscription \"%s\" failed and cannot "
                                "be replayed in place: its record was lost",
                                txn_.xid, cfg_.name.c_str()),
                         errdetail_internal("%s", record_lost_why_.c_str()),
                         errhint("The apply worker restarts and receives the transaction again.")));
            });
            throw;
        }
        fail(e);
        if (const auto* c = std::get_if<core::Commit>(&msg)) {
            replay(*c);  // the COMMIT itself failed (a deferred constraint, say)
        }
        return;
    } catch (...) {
        error_context_stack = callback.previous;
        throw;
    }
    error_context_stack = callback.previous;
}

// The record of the remote transaction in progress could not be kept (a full disk under the
// spill directory, say). Applying goes on without it: most transactions never need their
// record. Only if this one fails does the worker restart, to receive it again.
void Applier::lose_record(const core::Error& e) {
    record_lost_ = true;
    record_lost_why_ = core::error_text(e.sqlstate(), e.message(), e.detail());
    record_.clear();
    std::string hint = e.hint();
    pg::pg_call([&] {
        ereport(WARNING,
                (errmsg("remote transaction %u of subscription \"%s\" is applied without a "
                        "record for replay",
                        txn_.xid, cfg_.name.c_str()),
                 errdetail_internal("%s", record_lost_why_.c_str()),
                 hint.empty() ? 0 : errhint("%s", hint.c_str())));
    });
}

namespace {

// Writes out buffered inserts (see row_apply.hpp), under the same guard as a change.
void flush_buffered() {
    pg::pg_call([] { flush_pending(); });
}

}  // namespace

void Applier::dispatch(const core::ProtocolMessage& msg) {
    if (const auto* b = std::get_if<core::Begin>(&msg)) {
        on_begin(*b);
    } else if (const auto* c = std::get_if<core::Commit>(&msg)) {
        on_commit(*c);
    } else {
        apply_change(msg);
    }
}

// UPDATE, DELETE and TRUNCATE write out buffered inserts themselves (row_apply.hpp); only
// COMMIT and queue messages need flush_buffered() here.
void Applier::apply_change(const core::ProtocolMessage& msg) {
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, core::Origin>) {
                txn_.origin_node = m.origin_id;
            } else if constexpr (std::is_same_v<T, core::Relation>) {
                ensure_local_txn();
                // Guarded: the message this came from lives in a C++ frame above.
                pg::pg_call([&m] { remember_relation(m); });
                relnames_[m.relid] = TableKey(m.nspname, m.relname);
            } else if constexpr (std::is_same_v<T, core::Insert>) {
                if (!skipping_ && !skip_change(m.relid)) {
                    ensure_local_txn();
                    auto name = relnames_.find(m.relid);
                    bool queue = name != relnames_.end() &&
                                 is_queue_relation(name->second.first, name->second.second);
                    // A message forwarded by another node after its origin's own copy (or the
                    // other way round) acts once (docs/ddl.md).
                    if (queue && skip_repeated_queue_message(txn_.origin_node, m)) {
                        return;
                    }
                    counted_change(m.relid, core::ChannelCounter::Insert,
                                   [&] { per_change([&] { apply_insert(txn_, m); }); });
                    if (queue) {
                        // Messages of spock.queue act in the transaction that brings them.
                        flush_buffered();
                        if (act_on_queue_insert(cfg_.id, m)) {
                            copy_requested_ = true;
                        }
                    }
                }
            } else if constexpr (std::is_same_v<T, core::Update>) {
                if (!skipping_ && !skip_change(m.relid)) {
                    ensure_local_txn();
                    counted_change(m.relid, core::ChannelCounter::Update,
                                   [&] { per_change([&] { apply_update(txn_, m); }); });
                }
            } else if constexpr (std::is_same_v<T, core::Delete>) {
                if (!skipping_ && !skip_change(m.relid)) {
                    ensure_local_txn();
                    counted_change(m.relid, core::ChannelCounter::Delete,
                                   [&] { per_change([&] { apply_delete(txn_, m); }); });
                }
            } else if constexpr (std::is_same_v<T, core::Truncate>) {
                if (!skipping_) {
                    // A member, not a local: apply_truncate may raise a PostgreSQL error.
                    truncate_kept_ = m;
                    std::erase_if(truncate_kept_.relids,
                                  [this](core::RelId r) { return skip_change(r); });
                    if (!truncate_kept_.relids.empty()) {
                        ensure_local_txn();
                        per_change([&] { apply_truncate(txn_, truncate_kept_); });
                    }
                }
            }
            if constexpr (std::is_same_v<T, core::LogicalMessage>) {
                on_logical_message(m);
            }
            // S (startup) and L (commit order, for slot groups) need nothing here; B and C are
            // not changes.
        },
        msg);
}

// A change to a resynchronised table from a transaction the copy already holds.
bool Applier::skip_change(core::RelId relid) const {
    if (synced_.empty()) {
        return false;
    }
    auto name = relnames_.find(relid);
    if (name == relnames_.end()) {
        return false;
    }
    auto at = synced_.find(name->second);
    return core::skip_resynced_change(
        at == synced_.end() ? std::nullopt : std::optional<core::Lsn>(at->second), txn_.commit_lsn);
}

core::Lsn Applier::resync_table(const TableKey& table) {
    sync::TableResyncRequest req;
    req.subscription_id = cfg_.id;
    req.subscription_name = cfg_.name;
    req.slot_name = cfg_.slot_name;
    req.provider_dsn = cfg_.provider_dsn;
    req.replication_sets = cfg_.sets;
    req.skip_schemas = cfg_.skip_schema;
    req.nspname = table.first;
    req.relname = table.second;
    req.before_copy = [this] { use_origin(cfg_.provider); };
    return sync::resync_table(req);
}

void Applier::wait_for_apply_delay() {
    if (cfg_.apply_delay_ms <= 0) {
        return;
    }
    TimestampTz remote_commit = txn_.commit_time.value;
    TimestampTz due = TimestampTzPlusMilliseconds(remote_commit, cfg_.apply_delay_ms);
    for (;;) {
        long wait = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), due);
        if (wait <= 0 || ShutdownRequestPending) {
            return;
        }
        pg::sleep_on_latch(std::min(wait, 1000L));
        if (idle_) {
            idle_();
        }
    }
}

void Applier::on_begin(const core::Begin& m) {
    in_remote_txn_ = true;
    failed_ = false;
    committed_ = false;
    txn_ = RemoteTxn{};
    txn_.origin_node = cfg_.provider;
    txn_.provider_node = cfg_.provider;
    txn_.subscription_id = cfg_.id;
    txn_.commit_time = m.commit_time;
    txn_.xid = m.xid;
    txn_.commit_lsn = m.final_lsn;
    skipping_ = core::skip_transaction(skip_lsn_, m.final_lsn);
    if (skipping_) {
        std::string lsn = m.final_lsn.to_string();
        pg::pg_call([&lsn] {
            ereport(LOG, (errmsg("skipping the remote transaction that commits at %s, as "
                                 "spock.sub_alter_skiplsn() asked",
                                 lsn.c_str())));
        });
    }
    wait_for_apply_delay();
}

void Applier::use_origin(core::NodeId origin_node) {
    // The name depends on the node alone (slot, provider and process are the worker's): the
    // same node as last time costs no string.
    if (!session_origin_name_.empty() && origin_node == session_origin_node_) {
        return;
    }
    std::string name = core::origin_name(cfg_.slot_name, cfg_.provider, origin_node);
    if (process_ != 0) {
        name = core::worker_origin_name(name, process_);
    }
    if (name == session_origin_name_) {
        return;
    }
    RepOriginId id = catalog::ensure_origin(name);
    pg::pg_call([id, had = !session_origin_name_.empty()] {
        if (had) {
            replorigin_session_reset();
        }
        replorigin_session_setup(id);
        replorigin_session_origin = id;
    });
    session_origin_name_ = name;
    session_origin_node_ = origin_node;
}

void Applier::ensure_local_txn() {
    if (local_txn_) {
        return;
    }
    // Origins are created in transactions of their own, so set this one up first.
    use_origin(txn_.origin_node);
    XLogRecPtr final_lsn = txn_.commit_lsn.value;
    TimestampTz ts = txn_.commit_time.value;
    pg::begin_xact();
    pg::pg_call([final_lsn, ts] {
        replorigin_session_origin_lsn = final_lsn;
        replorigin_session_origin_timestamp = ts;
    });
    local_txn_ = true;
}

void Applier::clear_skip_lsn() {
    ensure_local_txn();
    pg::spi_connect();
    pg::spi_exec("UPDATE spock.subscription SET sub_skip_lsn = '0/0' WHERE sub_id = $1::oid",
                 {std::to_string(cfg_.id)});
    pg::spi_finish();
}

void Applier::commit_local(const core::Commit& m) {
    XLogRecPtr end = m.end_lsn.value;
    TimestampTz ts = m.commit_time.value;
    pg::pg_call([end, ts] {
        replorigin_session_origin_lsn = end;
        replorigin_session_origin_timestamp = ts;
    });
    pg::commit_xact();
    // From here on the transaction is applied and its origin advanced: an error in what
    // follows must not replay it (handle() and replay() rethrow instead).
    committed_ = true;
    flush_.committed(core::Lsn{XactLastCommitEnd}, m.end_lsn);
    local_txn_ = false;
    pg::pg_call([] { pgstat_report_stat(false); });
    report_conflicts();
}

// Conflicts are counted per process as row apply meets them and added to shared memory here,
// at most once per commit (or idle moment), with the summary lines of conflict-log windows
// that are over.
void Applier::report_conflicts() {
    count_conflicts(cfg_.id);
    count_schema_changes(cfg_.id);
    pg::pg_call([subid = cfg_.id] { channel_stats_flush(subid); });
    pg::pg_call([] { log_conflict_summaries(); });
}

void Applier::finish_remote_txn(const core::Commit& m) {
    last_commit_end_ = m.end_lsn;
    last_commit_time_ = m.commit_time;
    in_remote_txn_ = false;
    failed_ = false;
    skipping_ = false;
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot_->last_applied = m.end_lsn.value;
    slot_->last_commit_ts = m.commit_time.value;
    LWLockRelease(worker::shared()->lock);
}

void Applier::on_commit(const core::Commit& m) {
    if (skipping_) {
        // The skipped transaction still advances the origin, or a restart would apply it.
        clear_skip_lsn();
    }
    if (local_txn_) {
        flush_buffered();
        commit_local(m);
    }
    finish_remote_txn(m);
    if (record_.spilled()) {
        count_spill(cfg_.id, record_.spilled_bytes());
    }
    record_.clear();
}

void Applier::committed_elsewhere(core::Lsn local_end, const core::Commit& m) {
    flush_.committed(local_end, m.end_lsn);
    finish_remote_txn(m);
}

core::Lsn Applier::flush_position(core::Lsn received) {
    // With spock.pg_standby_slot_names, a remote transaction is confirmed to its provider only
    // once the physical standbys have its local commit (docs/high-availability.md).
    return flush_.flushed(pg::flush_confirmed_by_standbys(), received, in_remote_txn_);
}

}  // namespace spock::apply
