// The apply worker's main loop. See include/spock/apply/apply_worker.hpp.
//
// Structure: run() loads the subscription, synchronises it when needed, opens the replication
// stream and hands every decoded message to Applier. Applier keeps the transaction record (the
// messages of the remote transaction in progress) so that a failed transaction can later be
// replayed from it without reading the stream again, and applies each change as it arrives.
//
// Per-table resynchronisation (sub_resync_table, sub_alter_sync; reference §7.3) happens in
// this worker, between remote transactions, for tables whose local_sync_status row says 'i':
//  1. On a replication connection to the provider, CREATE_REPLICATION_SLOT ... TEMPORARY
//     LOGICAL ... EXPORT_SNAPSHOT. Its consistent point L splits the provider's transactions:
//     those whose commit record starts before L (final_lsn < L) are visible in the exported
//     snapshot; the others are not. L is never behind this worker's stream position, since the
//     provider sent that position before the slot existed.
//  2. In one local transaction, under the subscription's replication origin (so the copy is
//     not replicated onward) with the epoch as commit timestamp (so later changes win
//     conflicts): TRUNCATE the table, COPY it from the provider in the snapshot, and set its
//     status to 'y' (synchronized) with sync_statuslsn = L. A crash before this commit leaves
//     'i' and the copy is redone; after it, the status and L survive with the rows.
//  3. The temporary slot goes away with its connection.
//  4. The stream then goes on where it paused. For a table at 'y', changes of transactions with
//     final_lsn < L are already in the copy and are skipped; later ones are applied. Other
//     tables are not affected. Once the stream has passed L between transactions (a commit or
//     keepalive at or after L), nothing older can arrive and the status becomes 'r'.
#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "spock/apply/apply_worker.hpp"
#include "spock/apply/origins.hpp"
#include "spock/apply/row_apply.hpp"
#include "spock/core/byte_order.hpp"
#include "spock/core/names.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/startup_params.hpp"
#include "spock/core/version.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/remote.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/waits.hpp"
#include "spock/sql/catalog.hpp"
#include "spock/sync/initial_sync.hpp"
#include "spock/worker/shmem.hpp"

#include "../sync/copy_data.hpp"
#include "queue_messages.hpp"

#include <libpq-fe.h>

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <mb/pg_wchar.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <replication/origin.h>
#include <replication/walreceiver.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <tcop/tcopprot.h>
#include <common/pg_prng.h>
#include <utils/guc.h>
#include <utils/memutils.h>
#include <utils/snapmgr.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

using pg::SqlRow;
using pg::SqlValue;

// What the worker needs to know about its subscription. Re-read when the catalog changes; a
// change in anything but the skip LSN restarts the worker.
struct SubConfig {
    Oid id = InvalidOid;
    std::string name;
    bool enabled = false;
    std::string slot_name;
    core::NodeId provider = 0;
    core::NodeId local = 0;
    std::string provider_dsn;
    std::string local_dsn;
    std::vector<std::string> sets;
    std::vector<std::string> forward_origins;
    std::vector<std::string> skip_schema;
    long apply_delay_ms = 0;
    bool force_text = false;
    core::Lsn skip_lsn;
    char sync_kind = 'i';
    char sync_status = 'r';

    bool same_stream(const SubConfig& o) const {
        return enabled == o.enabled && slot_name == o.slot_name && provider == o.provider &&
               provider_dsn == o.provider_dsn && sets == o.sets &&
               forward_origins == o.forward_origins && apply_delay_ms == o.apply_delay_ms &&
               force_text == o.force_text;
    }
};

void begin_xact() {
    pg::pg_call([] {
        SetCurrentStatementStartTimestamp();
        StartTransactionCommand();
        PushActiveSnapshot(GetTransactionSnapshot());
    });
}

void commit_xact() {
    pg::pg_call([] {
        PopActiveSnapshot();
        CommitTransactionCommand();
    });
}

std::optional<SubConfig> load_config(Oid subid) {
    begin_xact();
    pg::spi_connect();
    auto rows = pg::spi_query(
        "SELECT s.sub_name, s.sub_enabled, s.sub_slot_name, s.sub_origin, s.sub_target, "
        "       oi.if_dsn, ti.if_dsn, s.sub_replication_sets, s.sub_forward_origins, "
        "       s.sub_skip_schema, "
        "       (extract(epoch FROM s.sub_apply_delay) * 1000)::bigint, "
        "       s.sub_force_text_transfer, s.sub_skip_lsn, ss.sync_kind, ss.sync_status "
        "FROM spock.subscription s "
        "JOIN spock.node_interface oi ON oi.if_id = s.sub_origin_if "
        "JOIN spock.node_interface ti ON ti.if_id = s.sub_target_if "
        "LEFT JOIN spock.local_sync_status ss ON ss.sync_subid = s.sub_id "
        "     AND ss.sync_nspname IS NULL AND ss.sync_relname IS NULL "
        "WHERE s.sub_id = $1::oid",
        {std::to_string(subid)});
    pg::spi_finish();
    commit_xact();
    if (rows.empty()) {
        return std::nullopt;
    }
    const SqlRow& r = rows[0];
    SubConfig c;
    c.id = subid;
    c.name = *r[0];
    c.enabled = sql::to_bool(r[1]);
    c.slot_name = *r[2];
    c.provider = sql::to_u32(r[3]);
    c.local = sql::to_u32(r[4]);
    c.provider_dsn = *r[5];
    c.local_dsn = *r[6];
    c.sets = sql::array_values(r[7]);
    c.forward_origins = sql::array_values(r[8]);
    c.skip_schema = sql::array_values(r[9]);
    c.apply_delay_ms = r[10] ? std::stol(*r[10]) : 0;
    c.force_text = sql::to_bool(r[11]);
    c.skip_lsn = core::Lsn::parse(*r[12]);
    c.sync_kind = r[13] ? (*r[13])[0] : 'i';
    c.sync_status = r[14] ? (*r[14])[0] : 'r';
    return c;
}

// ----- origins --------------------------------------------------------------------------------

// The origin id for `name`, created (in its own transaction) when missing.
RepOriginId ensure_origin(const std::string& name) {
    const char* n = name.c_str();
    RepOriginId id = pg::pg_call([n] {
        StartTransactionCommand();
        RepOriginId r = replorigin_by_name(n, true);
        if (r == InvalidRepOriginId) {
            r = replorigin_create(n);
        }
        CommitTransactionCommand();
        return r;
    });
    return id;
}

// Where streaming resumes: the newest position among the subscription's origins. Each applied
// commit advances exactly one of them, and commits arrive in provider order.
core::Lsn resume_position(const std::string& slot) {
    begin_xact();
    pg::spi_connect();
    SqlValue lsn = pg::spi_value(
        "SELECT max(remote_lsn) FROM pg_replication_origin_status "
        "WHERE external_id = $1 OR (starts_with(external_id, $1 || '_n') "
        "      AND substr(external_id, length($1) + 3) ~ '^[0-9]+$')",
        {slot});
    pg::spi_finish();
    commit_xact();
    return lsn ? core::Lsn::parse(*lsn) : core::kInvalidLsn;
}

// ----- initial synchronisation ----------------------------------------------------------------

void synchronize(const SubConfig& cfg) {
    if (cfg.sync_status != 'i' && cfg.sync_status != 'u') {
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "initial synchronisation of subscription \"" + cfg.name +
                              "\" failed during a step that cannot be resumed",
                          std::string("The synchronisation status is '") + cfg.sync_status + "'.",
                          "Drop the subscription and create it again.");
    }
    sync::SyncRequest req;
    req.subscription_id = cfg.id;
    req.subscription_name = cfg.name;
    req.slot_name = cfg.slot_name;
    req.provider_dsn = cfg.provider_dsn;
    req.local_dsn = cfg.local_dsn;
    req.replication_sets = cfg.sets;
    req.skip_schemas = cfg.skip_schema;
    req.structure = cfg.sync_kind == 's' || cfg.sync_kind == 'f';
    req.data = cfg.sync_kind == 'd' || cfg.sync_kind == 'f';
    req.provider_node_id = cfg.provider;
    req.local_node_id = cfg.local;
    // Each step is recorded as it starts: a step that fails after something committed (the
    // data copy, say) cannot simply be redone, and the next start says so instead of failing
    // in a confusing way.
    Oid subid = cfg.id;
    req.on_status = [subid](char status) {
        begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "UPDATE spock.local_sync_status SET sync_status = $2::\"char\" "
            "WHERE sync_subid = $1::oid AND sync_nspname IS NULL AND sync_relname IS NULL",
            {std::to_string(subid), std::string(1, status)});
        pg::spi_finish();
        commit_xact();
    };
    core::Lsn start = sync::synchronize_subscription(req);

    // The origin starts at the slot's consistent point, and the subscription is ready, in one
    // transaction: a crash before it commits redoes the synchronisation.
    RepOriginId origin = ensure_origin(cfg.slot_name);
    begin_xact();
    XLogRecPtr at = start.value;
    pg::pg_call([origin, at] {
        replorigin_advance(origin, at, InvalidXLogRecPtr, true /* go_backward */,
                           true /* WAL log */);
    });
    pg::spi_connect();
    pg::spi_exec(
        "UPDATE spock.local_sync_status SET sync_status = 'r', sync_statuslsn = $2::pg_lsn "
        "WHERE sync_subid = $1::oid AND sync_nspname IS NULL AND sync_relname IS NULL",
        {std::to_string(cfg.id), start.to_string()});
    pg::spi_finish();
    commit_xact();
    std::string at_text = start.to_string();
    pg::pg_call([&cfg, &at_text] {
        ereport(LOG, (errmsg("subscription \"%s\" is synchronised; streaming starts at %s",
                             cfg.name.c_str(), at_text.c_str())));
    });
}

// ----- the applier ----------------------------------------------------------------------------

// A local commit whose WAL may not be flushed yet, and the remote position it covers.
struct PendingFlush {
    XLogRecPtr local_end;
    XLogRecPtr remote_end;
};

class Applier {
  public:
    Applier(const SubConfig& cfg, worker::WorkerSlot* slot)
        : cfg_(cfg), slot_(slot), skip_lsn_(cfg.skip_lsn) {}

    // A new skip LSN takes effect from the next remote transaction, without a restart.
    void set_skip_lsn(core::Lsn lsn) { skip_lsn_ = lsn; }
    // Called while apply_delay holds a transaction back, so the provider keeps hearing from us.
    void set_idle_callback(std::function<void()> cb) { idle_ = std::move(cb); }

    void handle(const core::ProtocolMessage& msg, size_t size);
    static void error_context(void* arg);
    bool in_remote_txn() const { return in_remote_txn_; }
    XLogRecPtr flush_position(XLogRecPtr received);
    XLogRecPtr last_commit_end() const { return last_commit_end_; }
    TimestampTz last_commit_time() const { return last_commit_time_; }

    // Tables resynchronised at a provider position (status 'y'), by qualified name.
    using TableKey = std::pair<std::string, std::string>;
    std::map<TableKey, XLogRecPtr>& synced() { return synced_; }
    // Copies one table again (step 1-3 of the design above) and returns L. Between remote
    // transactions only. Returns InvalidXLogRecPtr when the provider no longer publishes it.
    XLogRecPtr resync_table(const TableKey& table);
    // A queue message asked for a table copy since the last call.
    bool take_copy_request() { return std::exchange(copy_requested_, false); }

  private:
    bool skip_change(core::RelId relid) const;
    // UPDATE, DELETE and TRUNCATE write out buffered inserts themselves (row_apply.hpp);
    // only COMMIT and queue messages need flush_buffered() here.
    void dispatch(const core::ProtocolMessage& msg, size_t size);
    template <typename F>
    void per_change(F&& fn);
    void on_begin(const core::Begin& m);
    void on_commit(const core::Commit& m);
    void ensure_local_txn();
    void use_origin(core::NodeId origin_node);
    void clear_skip_lsn(XLogRecPtr end);
    void wait_for_apply_delay();

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    RemoteTxn txn_;
    bool in_remote_txn_ = false;
    bool local_txn_ = false;
    bool skipping_ = false;
    // The transaction record: the messages of the remote transaction in progress.
    std::vector<core::ProtocolMessage> record_;
    size_t record_bytes_ = 0;
    bool record_overflow_ = false;
    std::string session_origin_name_;
    MemoryContext change_cxt_ = nullptr;
    core::Lsn skip_lsn_;
    std::function<void()> idle_;
    std::unordered_map<core::RelId, TableKey> relnames_;
    std::map<TableKey, XLogRecPtr> synced_;
    core::Truncate truncate_kept_;  // a TRUNCATE without the tables the copy already holds
    std::deque<PendingFlush> pending_;
    XLogRecPtr last_commit_end_ = InvalidXLogRecPtr;
    TimestampTz last_commit_time_ = 0;
    bool copy_requested_ = false;
};

// Every error raised while applying names the remote transaction, so a DBA can find it (and
// skip it with spock.sub_alter_skiplsn()).
void Applier::error_context(void* arg) {
    auto* self = static_cast<Applier*>(arg);
    if (!self->in_remote_txn_) {
        return;
    }
    uint64_t lsn = self->txn_.commit_lsn.value;
    errcontext("remote transaction %u of subscription \"%s\" from node %u, committing at %X/%X",
               self->txn_.xid, self->cfg_.name.c_str(), self->txn_.origin_node,
               static_cast<uint32>(lsn >> 32), static_cast<uint32>(lsn));
}

void Applier::handle(const core::ProtocolMessage& msg, size_t size) {
    ErrorContextCallback callback;
    callback.callback = error_context;
    callback.arg = this;
    callback.previous = error_context_stack;
    error_context_stack = &callback;
    dispatch(msg, size);
    error_context_stack = callback.previous;
}

// Runs one change with its allocations in a context that is emptied afterwards, so a large
// remote transaction does not accumulate per-row garbage in the transaction's memory.
template <typename F>
void Applier::per_change(F&& fn) {
    if (change_cxt_ == nullptr) {
        change_cxt_ = pg::pg_call([] {
            return AllocSetContextCreate(TopMemoryContext, "spock apply change",
                                         ALLOCSET_DEFAULT_SIZES);
        });
    }
    // The row code is plain glue that raises PostgreSQL errors; pg_call turns them into C++
    // exceptions so that the frames above (which own the decoded message and the transaction
    // record) unwind normally. One guard per change, not per row operation.
    MemoryContext cxt = change_cxt_;
    pg::pg_call([cxt, &fn] {
        MemoryContext old = MemoryContextSwitchTo(cxt);
        fn();
        MemoryContextSwitchTo(old);
        MemoryContextReset(cxt);
    });
}

// Writes out buffered inserts (see row_apply.hpp), under the same guard as a change.
void flush_buffered() {
    pg::pg_call([] { flush_pending(); });
}

void Applier::dispatch(const core::ProtocolMessage& msg, size_t size) {
    if (in_remote_txn_) {
        if (!record_overflow_ &&
            record_bytes_ + size <= static_cast<size_t>(gucs::exception_replay_queue_size)) {
            record_.push_back(msg);
            record_bytes_ += size;
        } else {
            // Beyond the in-memory budget; the spill file comes with exception replay.
            record_overflow_ = true;
        }
    }
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, core::Begin>) {
                on_begin(m);
            } else if constexpr (std::is_same_v<T, core::Origin>) {
                txn_.origin_node = m.origin_id;
            } else if constexpr (std::is_same_v<T, core::Relation>) {
                ensure_local_txn();
                remember_relation(m);
                relnames_[m.relid] = TableKey(m.nspname, m.relname);
            } else if constexpr (std::is_same_v<T, core::Insert>) {
                if (!skipping_ && !skip_change(m.relid)) {
                    ensure_local_txn();
                    per_change([&] { apply_insert(txn_, m); });
                    auto name = relnames_.find(m.relid);
                    if (name != relnames_.end() &&
                        is_queue_relation(name->second.first, name->second.second)) {
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
                    per_change([&] { apply_update(txn_, m); });
                }
            } else if constexpr (std::is_same_v<T, core::Delete>) {
                if (!skipping_ && !skip_change(m.relid)) {
                    ensure_local_txn();
                    per_change([&] { apply_delete(txn_, m); });
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
            } else if constexpr (std::is_same_v<T, core::Commit>) {
                on_commit(m);
            }
            // S (startup), L (commit order, for slot groups) and M (sync events, handled with
            // the sync-event functions) need nothing here.
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
    return at != synced_.end() && txn_.commit_lsn.value < at->second;
}

XLogRecPtr Applier::resync_table(const TableKey& table) {
    const std::string qualified = table.first + "." + table.second;
    // A temporary slot name of our own: the subscription's slot and 8 random hex digits.
    char suffix[16];
    snprintf(suffix, sizeof suffix, "_%08x",
             static_cast<unsigned>(pg_prng_uint32(&pg_global_prng_state)));
    std::string slot = cfg_.slot_name.substr(0, 54) + suffix;
    pg::RemoteConnection repl(cfg_.provider_dsn, cfg_.slot_name, "resync", true);
    std::vector<SqlRow> created = repl.query("CREATE_REPLICATION_SLOT \"" + slot +
                                             "\" TEMPORARY LOGICAL spock_output EXPORT_SNAPSHOT");
    if (created.size() != 1 || created[0].size() < 3 || !created[0][1] || !created[0][2]) {
        throw core::Error(core::sqlstate::kProtocolViolation,
                          "unexpected result from CREATE_REPLICATION_SLOT");
    }
    core::Lsn consistent = core::Lsn::parse(*created[0][1]);
    pg::RemoteConnection conn(cfg_.provider_dsn, cfg_.slot_name, "copy", false);
    sync::prepare_copy_session(conn);
    sync::begin_snapshot_transaction(conn, *created[0][2]);
    std::optional<sync::ProviderTable> found;
    for (sync::ProviderTable& t : sync::list_provider_tables(conn, cfg_.sets, cfg_.skip_schema)) {
        if (t.nspname == table.first && t.relname == table.second) {
            found = std::move(t);
        }
    }
    if (!found) {
        pg::pg_call([&qualified, this] {
            ereport(WARNING, (errmsg("table %s is no longer published to subscription \"%s\"; "
                                     "its resynchronisation is dropped",
                                     qualified.c_str(), cfg_.name.c_str())));
        });
        begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "DELETE FROM spock.local_sync_status WHERE sync_subid = $1::oid "
            "AND sync_nspname = $2::name AND sync_relname = $3::name AND sync_status = 'i'",
            {std::to_string(cfg_.id), table.first, table.second});
        pg::spi_finish();
        commit_xact();
        return InvalidXLogRecPtr;
    }
    use_origin(cfg_.provider);
    begin_xact();
    TimestampTz epoch = core::timestamp_from_unix_us(0).value;
    pg::pg_call([epoch] {
        replorigin_session_origin_lsn = InvalidXLogRecPtr;
        replorigin_session_origin_timestamp = epoch;
        (void)set_config_option("DateStyle", "ISO", PGC_SUSET, PGC_S_SESSION, GUC_ACTION_LOCAL,
                                true, 0, false);
        (void)set_config_option("IntervalStyle", "postgres", PGC_SUSET, PGC_S_SESSION,
                                GUC_ACTION_LOCAL, true, 0, false);
    });
    pg::spi_connect();
    std::string truncate =
        "TRUNCATE TABLE " + core::quote_qualified_identifier(table.first, table.second);
    pg::spi_exec(truncate.c_str());
    pg::pg_call([] { CommandCounterIncrement(); });
    std::uint64_t rows = sync::copy_table(conn, *found);
    pg::pg_call([] { CommandCounterIncrement(); });
    pg::spi_exec(
        "UPDATE spock.local_sync_status SET sync_status = 'y', sync_statuslsn = $4::pg_lsn "
        "WHERE sync_subid = $1::oid AND sync_nspname = $2::name AND sync_relname = $3::name",
        {std::to_string(cfg_.id), table.first, table.second, consistent.to_string()});
    pg::spi_finish();
    commit_xact();
    pg::pg_call([] {
        replorigin_session_origin_lsn = InvalidXLogRecPtr;
        replorigin_session_origin_timestamp = 0;
    });
    std::string at = consistent.to_string();
    pg::pg_call([&] {
        ereport(LOG, (errmsg("subscription \"%s\" copied %llu rows of table %s again, as of "
                             "provider position %s",
                             cfg_.name.c_str(), static_cast<unsigned long long>(rows),
                             qualified.c_str(), at.c_str())));
    });
    return consistent.value;
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
    record_.clear();
    record_bytes_ = 0;
    record_overflow_ = false;
    record_.push_back(m);
    txn_ = RemoteTxn{};
    txn_.origin_node = cfg_.provider;
    txn_.provider_node = cfg_.provider;
    txn_.subscription_id = cfg_.id;
    txn_.commit_time = m.commit_time;
    txn_.xid = m.xid;
    txn_.commit_lsn = m.final_lsn;
    skipping_ = skip_lsn_.is_valid() && skip_lsn_ == m.final_lsn;
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
    std::string name = origin_name_for(cfg_.slot_name, cfg_.provider, origin_node);
    if (name == session_origin_name_) {
        return;
    }
    RepOriginId id = ensure_origin(name);
    pg::pg_call([id, had = !session_origin_name_.empty()] {
        if (had) {
            replorigin_session_reset();
        }
        replorigin_session_setup(id);
        replorigin_session_origin = id;
    });
    session_origin_name_ = name;
}

void Applier::ensure_local_txn() {
    if (local_txn_) {
        return;
    }
    // Origins are created in transactions of their own, so set this one up first.
    use_origin(txn_.origin_node);
    XLogRecPtr final_lsn = txn_.commit_lsn.value;
    TimestampTz ts = txn_.commit_time.value;
    begin_xact();
    pg::pg_call([final_lsn, ts] {
        replorigin_session_origin_lsn = final_lsn;
        replorigin_session_origin_timestamp = ts;
    });
    local_txn_ = true;
}

void Applier::clear_skip_lsn(XLogRecPtr end) {
    ensure_local_txn();
    pg::spi_connect();
    pg::spi_exec("UPDATE spock.subscription SET sub_skip_lsn = '0/0' WHERE sub_id = $1::oid",
                 {std::to_string(cfg_.id)});
    pg::spi_finish();
    (void)end;
}

void Applier::on_commit(const core::Commit& m) {
    XLogRecPtr end = m.end_lsn.value;
    if (skipping_) {
        // The skipped transaction still advances the origin, or a restart would apply it.
        clear_skip_lsn(end);
        skipping_ = false;
    }
    if (local_txn_) {
        flush_buffered();
        TimestampTz ts = m.commit_time.value;
        pg::pg_call([end, ts] {
            replorigin_session_origin_lsn = end;
            replorigin_session_origin_timestamp = ts;
        });
        commit_xact();
        pending_.push_back({XactLastCommitEnd, end});
        local_txn_ = false;
        pg::pg_call([] { pgstat_report_stat(false); });
    }
    last_commit_end_ = end;
    last_commit_time_ = m.commit_time.value;
    in_remote_txn_ = false;
    record_.clear();
    record_bytes_ = 0;
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot_->last_applied = end;
    slot_->last_commit_ts = last_commit_time_;
    LWLockRelease(worker::shared()->lock);
}

// The newest remote position whose local commit is flushed to disk. When nothing is
// outstanding and no remote transaction is open, everything received is accounted for.
XLogRecPtr Applier::flush_position(XLogRecPtr received) {
    XLogRecPtr flushed_local = GetFlushRecPtr(nullptr);
    XLogRecPtr flush = InvalidXLogRecPtr;
    while (!pending_.empty() && pending_.front().local_end <= flushed_local) {
        flush = pending_.front().remote_end;
        pending_.pop_front();
    }
    if (pending_.empty() && !in_remote_txn_) {
        return received;
    }
    return flush;
}

// ----- the stream -----------------------------------------------------------------------------

class Stream {
  public:
    Stream(const SubConfig& cfg, worker::WorkerSlot* slot)
        : cfg_(cfg), slot_(slot), applier_(cfg, slot) {
        applier_.set_idle_callback([this] { send_feedback(true); });
    }

    // Runs until the subscription changes (returns) or an error (throws).
    void run();

  private:
    void start(core::Lsn from);
    void process(const char* buf, int len);
    void send_feedback(bool force, bool request_reply = false);
    void update_progress();
    bool config_changed();
    void wait_while_paused();
    void check_resync(bool now);

    const SubConfig& cfg_;
    worker::WorkerSlot* slot_;
    Applier applier_;
    std::unique_ptr<pg::RemoteConnection> conn_;
    XLogRecPtr received_ = InvalidXLogRecPtr;
    XLogRecPtr sent_write_ = InvalidXLogRecPtr;
    XLogRecPtr sent_flush_ = InvalidXLogRecPtr;
    XLogRecPtr remote_insert_ = InvalidXLogRecPtr;
    TimestampTz last_feedback_ = 0;
    TimestampTz last_recv_time_ = 0;
    TimestampTz last_ping_ = 0;
    TimestampTz last_progress_ = 0;
    XLogRecPtr progress_written_ = InvalidXLogRecPtr;
    XLogRecPtr caught_up_at_ = InvalidXLogRecPtr;  // provider position we are caught up with
    int since_feedback_ = 0;
    TimestampTz last_sync_check_ = 0;
};

void Stream::start(core::Lsn from) {
    conn_ = std::make_unique<pg::RemoteConnection>(cfg_.provider_dsn, cfg_.slot_name, "", true);
    core::ClientStartupInputs in;
    in.expected_encoding = GetDatabaseEncodingName();
    in.pg_version_num = PG_VERSION_NUM;
    in.binary = core::native_binary_traits(PG_VERSION_NUM);
    in.force_text_transfer = cfg_.force_text;
    in.forward_origins = cfg_.forward_origins;
    in.replication_sets = cfg_.sets;
    in.apply_pid = MyProcPid;
    in.subscriber_node_id = cfg_.local;
    in.spock_version = core::kVersion;
    in.spock_version_num = core::kVersionNum;
    std::vector<core::StartupOption> options = core::client_startup_options(in);
    std::string cmd = core::start_replication_command(cfg_.slot_name, from, options);
    PGconn* c = conn_->raw();
    if (!PQsendQuery(c, cmd.c_str())) {
        throw core::Error("08006", "could not start replication",
                          std::string("libpq: ") + PQerrorMessage(c));
    }
    for (;;) {
        while (PQisBusy(c)) {
            int socket = PQsocket(c);
            pg::pg_call([socket] {
                WaitLatchOrSocket(MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_EXIT_ON_PM_DEATH,
                                  socket, 1000L, PG_WAIT_EXTENSION);
                ResetLatch(MyLatch);
                CHECK_FOR_INTERRUPTS();
            });
            if (ShutdownRequestPending) {
                return;
            }
            PQconsumeInput(c);
        }
        std::unique_ptr<PGresult, decltype(&PQclear)> res(PQgetResult(c), &PQclear);
        if (!res) {
            throw core::Error("08006", "replication did not start",
                              "The provider closed the command without a result.");
        }
        if (PQresultStatus(res.get()) == PGRES_COPY_BOTH) {
            break;
        }
        const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
        const char* msg = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY);
        throw core::Error(state ? state : "08000",
                          "could not start replication from slot \"" + cfg_.slot_name + "\"",
                          std::string("The provider said: ") + (msg ? msg : "(no message)"),
                          "Check that the slot exists on the provider and is not in use.");
    }
    std::string at = from.to_string();
    pg::pg_call([this, &at] {
        ereport(LOG, (errmsg("subscription \"%s\" streams from slot \"%s\" at %s",
                             cfg_.name.c_str(), cfg_.slot_name.c_str(), at.c_str())));
    });
}

void Stream::process(const char* buf, int len) {
    if (len < 1) {
        return;
    }
    if (buf[0] == 'w') {
        if (len < 25) {
            throw core::Error(core::sqlstate::kProtocolViolation, "short XLogData message");
        }
        XLogRecPtr start = core::get_u64(buf + 1);
        XLogRecPtr end = core::get_u64(buf + 9);
        received_ = std::max({received_, start, end});
        std::string_view payload(buf + 25, static_cast<size_t>(len - 25));
        core::ProtocolMessage msg = core::decode_message(payload);
        if (auto* c = std::get_if<core::Commit>(&msg)) {
            remote_insert_ = c->remote_insert_lsn.value;
        }
        applier_.handle(msg, payload.size());
        if (++since_feedback_ >= gucs::feedback_frequency) {
            send_feedback(true);
        }
        if (std::holds_alternative<core::Commit>(msg)) {
            check_resync(applier_.take_copy_request());
            wait_while_paused();
        }
    } else if (buf[0] == 'k') {
        if (len < 18) {
            throw core::Error(core::sqlstate::kProtocolViolation, "short keepalive message");
        }
        XLogRecPtr end = core::get_u64(buf + 1);
        bool reply = buf[17] != 0;
        received_ = std::max(received_, end);
        send_feedback(reply);
        // A keepalive while nothing is in flight: everything the provider had is applied.
        if (!applier_.in_remote_txn() && applier_.flush_position(received_) == received_) {
            caught_up_at_ = received_;
        }
    }
}

void Stream::send_feedback(bool force, bool request_reply) {
    XLogRecPtr write = received_;
    XLogRecPtr flush = applier_.flush_position(received_);
    if (flush == InvalidXLogRecPtr || flush < sent_flush_) {
        flush = sent_flush_;  // never report less than before
    }
    TimestampTz now = GetCurrentTimestamp();
    if (!force && !request_reply && write == sent_write_ && flush == sent_flush_ &&
        !TimestampDifferenceExceeds(last_feedback_, now, 10000)) {
        return;
    }
    std::string msg;
    core::put_u8(msg, 'r');
    core::put_u64(msg, write);
    core::put_u64(msg, flush);
    core::put_u64(msg, write);
    core::put_i64(msg, now);
    core::put_u8(msg, request_reply ? 1 : 0);
    PGconn* c = conn_->raw();
    if (PQputCopyData(c, msg.data(), static_cast<int>(msg.size())) <= 0 || PQflush(c) < 0) {
        throw core::Error("08006", "could not send feedback to the provider",
                          std::string("libpq: ") + PQerrorMessage(c));
    }
    sent_write_ = write;
    sent_flush_ = flush;
    last_feedback_ = now;
    since_feedback_ = 0;
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot_->last_received = received_;
    LWLockRelease(worker::shared()->lock);
}

// spock.progress, at most once a second and outside remote transactions (reference §6.10).
// The replication origin is the crash-safe record; this row is for people and tools.
void Stream::update_progress() {
    XLogRecPtr lsn = applier_.last_commit_end();
    TimestampTz now = GetCurrentTimestamp();
    if (!TimestampDifferenceExceeds(last_progress_, now, 1000)) {
        return;
    }
    // After a commit: the remote transaction's position and time (updated_by_decode). When the
    // provider is idle and everything it sent is applied (seen at a keepalive), the
    // row says so with updated_by_decode = false, so lag_tracker shows no lag rather than the
    // age of the last transaction.
    bool by_decode = lsn != InvalidXLogRecPtr && lsn != progress_written_;
    bool idle =
        !by_decode && caught_up_at_ != InvalidXLogRecPtr && caught_up_at_ != progress_written_;
    if (!by_decode && !idle) {
        return;
    }
    XLogRecPtr at = by_decode ? lsn : caught_up_at_;
    std::string lsn_text = core::Lsn{at}.to_string();
    std::string insert_text = core::Lsn{by_decode ? remote_insert_ : at}.to_string();
    TimestampTz commit_ts = applier_.last_commit_time();
    std::string ts =
        commit_ts != 0
            ? std::string(pg::pg_call([commit_ts] { return timestamptz_to_str(commit_ts); }))
            : std::string();
    begin_xact();
    pg::spi_connect();
    pg::spi_exec(
        "UPDATE spock.progress SET "
        "remote_commit_ts = coalesce(nullif($3, '')::timestamptz, remote_commit_ts), "
        "remote_lsn = greatest(remote_lsn, $4::pg_lsn), "
        "remote_insert_lsn = greatest($5::pg_lsn, $4::pg_lsn), last_updated_ts = now(), "
        "updated_by_decode = $6::bool WHERE node_id = $1::oid AND remote_node_id = $2::oid",
        {std::to_string(cfg_.local), std::to_string(cfg_.provider), ts, lsn_text, insert_text,
         std::string(by_decode ? "t" : "f")});
    pg::spi_finish();
    commit_xact();
    progress_written_ = at;
    last_progress_ = now;
}

// pause_apply_workers(): wait between transactions until resumed, at most
// spock.pause_timeout, then carry on with a WARNING.
void Stream::wait_while_paused() {
    worker::SpockShared* sh = worker::shared();
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    bool requested = slot_->pause_requested;
    slot_->paused = requested;
    LWLockRelease(sh->lock);
    if (!requested) {
        return;
    }
    TimestampTz deadline =
        TimestampTzPlusMilliseconds(GetCurrentTimestamp(), gucs::pause_timeout * 1000L);
    bool timed_out = pg::pg_call([this, sh, deadline] {
        ConditionVariablePrepareToSleep(&sh->pause_cv);
        bool expired = false;
        for (;;) {
            LWLockAcquire(sh->lock, LW_SHARED);
            bool still = slot_->pause_requested;
            LWLockRelease(sh->lock);
            if (!still || ShutdownRequestPending) {
                break;
            }
            if (GetCurrentTimestamp() >= deadline) {
                expired = true;
                break;
            }
            ConditionVariableTimedSleep(&sh->pause_cv, 100, PG_WAIT_EXTENSION);
            CHECK_FOR_INTERRUPTS();
        }
        ConditionVariableCancelSleep();
        return expired;
    });
    LWLockAcquire(sh->lock, LW_EXCLUSIVE);
    slot_->paused = false;
    if (timed_out) {
        slot_->pause_requested = false;
    }
    LWLockRelease(sh->lock);
    if (timed_out) {
        pg::pg_call([] {
            ereport(WARNING, (errmsg("apply worker resumed after spock.pause_timeout without "
                                     "spock.resume_apply_workers()")));
        });
    }
}

// Between remote transactions: copies the tables waiting for it (status 'i'), and moves the
// resynchronised ones to 'r' once the stream has passed their position. Reads the catalog at
// most once a second unless `now` (the worker was notified).
void Stream::check_resync(bool now) {
    TimestampTz ts = GetCurrentTimestamp();
    if (applier_.in_remote_txn() ||
        (!now && !TimestampDifferenceExceeds(last_sync_check_, ts, 1000))) {
        return;
    }
    last_sync_check_ = ts;
    begin_xact();
    pg::spi_connect();
    std::vector<SqlRow> rows = pg::spi_query(
        "SELECT sync_nspname::text, sync_relname::text, sync_status::text, "
        "       sync_statuslsn::text FROM spock.local_sync_status "
        "WHERE sync_subid = $1::oid AND sync_relname IS NOT NULL "
        "  AND sync_status IN ('i', 'y') ORDER BY 1, 2",
        {std::to_string(cfg_.id)});
    pg::spi_finish();
    commit_xact();
    auto& synced = applier_.synced();
    synced.clear();
    std::vector<Applier::TableKey> to_copy;
    for (const SqlRow& r : rows) {
        Applier::TableKey key(*r[0], *r[1]);
        if (*r[2] == "y") {
            synced[key] = core::Lsn::parse(*r[3]).value;
        } else {
            to_copy.push_back(key);
        }
    }
    for (const Applier::TableKey& key : to_copy) {
        send_feedback(true);  // the provider hears from us before a long copy
        XLogRecPtr at = applier_.resync_table(key);
        if (at != InvalidXLogRecPtr) {
            synced[key] = at;
        }
    }
    bool waiting = false;
    for (auto it = synced.begin(); it != synced.end();) {
        if (received_ < it->second) {
            waiting = true;
            ++it;
            continue;
        }
        begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "UPDATE spock.local_sync_status SET sync_status = 'r' "
            "WHERE sync_subid = $1::oid AND sync_nspname = $2::name AND sync_relname = $3::name "
            "  AND sync_status = 'y' AND sync_statuslsn = $4::pg_lsn",
            {std::to_string(cfg_.id), it->first.first, it->first.second,
             core::Lsn{it->second}.to_string()});
        pg::spi_finish();
        commit_xact();
        it = synced.erase(it);
    }
    if (waiting) {
        // An idle provider may stay silent: ask it where it is.
        send_feedback(true, true);
    }
}

bool Stream::config_changed() {
    auto fresh = load_config(cfg_.id);
    if (!fresh || !fresh->same_stream(cfg_)) {
        return true;
    }
    applier_.set_skip_lsn(fresh->skip_lsn);
    return false;
}

void Stream::run() {
    start(resume_position(cfg_.slot_name));
    if (ShutdownRequestPending) {
        return;
    }
    check_resync(true);
    PGconn* c = conn_->raw();
    last_recv_time_ = GetCurrentTimestamp();
    for (;;) {
        pg::pg_call([] {
            CHECK_FOR_INTERRUPTS();
            if (ConfigReloadPending) {
                ConfigReloadPending = false;
                ProcessConfigFile(PGC_SIGHUP);
            }
        });
        if (ShutdownRequestPending) {
            return;
        }
        char* buf = nullptr;
        int len = PQgetCopyData(c, &buf, 1);
        if (len > 0) {
            std::unique_ptr<char, decltype(&PQfreemem)> owned(buf, &PQfreemem);
            last_recv_time_ = GetCurrentTimestamp();
            process(buf, len);
            continue;
        }
        if (len == -1) {
            throw core::Error("08006", "the provider ended the replication stream",
                              "Subscription \"" + cfg_.name + "\".");
        }
        if (len < -1) {
            throw core::Error("08006", "lost the replication connection to the provider",
                              std::string("libpq: ") + PQerrorMessage(c));
        }
        // No data: a good moment for feedback and bookkeeping.
        send_feedback(false);
        if (!applier_.in_remote_txn()) {
            update_progress();
            check_resync(false);
            wait_while_paused();
        }
        int socket = PQsocket(c);
        int rc = pg::pg_call([socket] {
            int r = WaitLatchOrSocket(
                MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                socket, 1000L, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            return r;
        });
        if ((rc & WL_LATCH_SET) && !applier_.in_remote_txn() && config_changed()) {
            pg::pg_call([this] {
                ereport(LOG, (errmsg("subscription \"%s\" changed; restarting its apply worker",
                                     cfg_.name.c_str())));
            });
            return;
        }
        if ((rc & WL_LATCH_SET) && !applier_.in_remote_txn()) {
            check_resync(true);
        }
        if (!PQconsumeInput(c)) {
            throw core::Error("08006", "lost the replication connection to the provider",
                              std::string("libpq: ") + PQerrorMessage(c));
        }
        // The walsender sends keepalives only when it has not heard from us, and we report
        // regularly: after half the timeout of silence, ask it for a reply; after the whole
        // timeout, give up on the connection.
        long timeout_ms = wal_receiver_timeout > 0 ? wal_receiver_timeout : 60000;
        TimestampTz now = GetCurrentTimestamp();
        if (TimestampDifferenceExceeds(last_recv_time_, now, timeout_ms)) {
            throw core::Error("08006", "terminating apply: no data or keepalive from the provider",
                              "Nothing arrived for " + std::to_string(timeout_ms) + " ms.");
        }
        if (TimestampDifferenceExceeds(last_recv_time_, now, timeout_ms / 2) &&
            TimestampDifferenceExceeds(last_ping_, now, timeout_ms / 2)) {
            send_feedback(true, true);
            last_ping_ = now;
        }
    }
}

void run(worker::WorkerSlot* slot) {
    Oid subid = slot->subid;
    pg::pg_call([] {
        SetConfigOption("session_replication_role", "replica", PGC_SUSET, PGC_S_OVERRIDE);
        SetConfigOption("synchronous_commit", gucs::synchronous_commit ? "local" : "off", PGC_SUSET,
                        PGC_S_OVERRIDE);
        SetConfigOption("check_function_bodies", "off", PGC_SUSET, PGC_S_OVERRIDE);
    });
    auto cfg = load_config(subid);
    if (!cfg || !cfg->enabled) {
        return;  // dropped or disabled meanwhile
    }
    std::string app = cfg->slot_name;
    pg::pg_call([&app] { pgstat_report_appname(app.c_str()); });
    if (cfg->sync_status != 'r') {
        synchronize(*cfg);
    }
    Stream stream(*cfg, slot);
    stream.run();
}

}  // namespace
}  // namespace spock::apply

extern "C" SPOCK_EXPORT void spock_apply_main(Datum main_arg);

void spock_apply_main(Datum main_arg) {
    spock::worker::WorkerSlot* slot =
        spock::worker::attach_worker(main_arg, spock::worker::WorkerType::Apply);
    spock::pg::guarded([slot] { spock::apply::run(slot); });
    // Asked to stop (SIGTERM): restart later unless the subscription is gone or disabled by
    // then; a configuration change restarts at once.
    proc_exit(ShutdownRequestPending ? 1 : spock::apply::kExitRestart);
}
