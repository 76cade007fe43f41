// The replication stream of an apply worker. See stream.hpp.
#include "stream.hpp"

#include <algorithm>

#include "spock/catalog/origins.hpp"
#include "spock/catalog/progress.hpp"
#include "spock/core/byte_order.hpp"
#include "spock/core/progress_row.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/startup_params.hpp"
#include "spock/core/version.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/waits.hpp"
#include "spock/pg/xact.hpp"

#include "read_only_wait.hpp"

#include <libpq-fe.h>

extern "C" {
#include <access/xlog.h>
#include <mb/pg_wchar.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <replication/walreceiver.h>
#include <storage/condition_variable.h>
#include <storage/latch.h>
#include <utils/guc.h>
#include <utils/timestamp.h>
}

namespace spock::apply {

using pg::SqlRow;

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
    // With parallel apply the leader spools streamed transactions too and hands each over as a
    // whole transaction at its commit (docs/replication.md).
    streaming_asked_ = gucs::stream_in_progress;
    in.stream_in_progress = streaming_asked_;
    in.compact_begin = true;  // the Applier takes a missing ORIGIN as the provider's
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
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot_->streamed = true;
    LWLockRelease(worker::shared()->lock);
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
        // spock.readonly = all: hold back the next remote transaction, not part of one.
        if (gucs::readonly == gucs::kReadOnlyAll && !in_txn()) {
            if (!wait_while_read_only([this] { send_feedback(true); })) {
                stop_ = true;
                return;
            }
            last_recv_time_ = GetCurrentTimestamp();
        }
        XLogRecPtr start = core::get_u64(buf + 1);
        XLogRecPtr end = core::get_u64(buf + 9);
        received_ = std::max({received_, start, end});
        std::string_view payload(buf + 25, static_cast<size_t>(len - 25));
        core::ProtocolMessage msg = core::decode_message(payload);
        if (auto* c = std::get_if<core::Commit>(&msg)) {
            remote_insert_ = c->remote_insert_lsn.value;
        } else if (auto* sc = std::get_if<core::StreamCommit>(&msg)) {
            remote_insert_ = sc->remote_insert_lsn.value;
        }
        if (process_streamed(payload, msg)) {
            // taken by the spool, or a streamed transaction applied
        } else if (par_) {
            par_->handle(payload, msg);
        } else {
            applier_.handle(payload, msg);
        }
        if (disabled()) {
            stop_ = true;
            return;
        }
        if (++since_feedback_ >= gucs::feedback_frequency) {
            send_feedback(true);
        }
        if (std::holds_alternative<core::Commit>(msg) ||
            std::holds_alternative<core::StreamCommit>(msg)) {
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
        if (!in_txn() && streams_.open_transactions() == 0 &&
            flush_position(core::Lsn{received_}).value == received_) {
            caught_up_at_ = received_;
        }
    }
}

bool Stream::process_streamed(std::string_view payload, const core::ProtocolMessage& msg) {
    if (par_) {
        // Spooled only, and at its commit handed to the leader as B, O, the changes and C,
        // like a whole transaction: one over the leader's buffer is applied by the leader
        // itself once every process is idle. No early apply with parallel apply.
        return streams_.handle(
            payload, msg,
            [this](std::string_view p, const core::ProtocolMessage& m) { par_->handle(p, m); },
            [this] { send_feedback(false); });
    }
    early_.observe(payload, msg);
    return streams_.handle(
        payload, msg,
        [this](std::string_view p, const core::ProtocolMessage& m) { applier_.handle(p, m); },
        // A long apply reads nothing from the connection: the provider still hears from us.
        [this] { send_feedback(false); });
}

void Stream::send_feedback(bool force, bool request_reply) {
    XLogRecPtr write = received_;
    XLogRecPtr flush = flush_position(core::Lsn{received_}).value;
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
    XLogRecPtr lsn = (par_ ? par_->last_commit_end() : applier_.last_commit_end()).value;
    TimestampTz now = GetCurrentTimestamp();
    if (!TimestampDifferenceExceeds(last_progress_, now, 1000)) {
        return;
    }
    // After a commit: the remote transaction's position and time (updated_by_decode). When the
    // provider is idle and everything it sent is applied (seen at a keepalive), the
    // row says so with updated_by_decode = false, so lag_tracker shows no lag rather than the
    // age of the last transaction. core::progress_write() only ever moves forward.
    long secs = 0;
    int usecs = 0;
    TimestampDifference(last_progress_, now, &secs, &usecs);
    core::ProgressWrite w =
        core::progress_write(lsn, remote_insert_, caught_up_at_, progress_written_, progress_idle_,
                             static_cast<std::int64_t>(secs) * 1000 + usecs / 1000);
    if (!w.write) {
        return;
    }
    XLogRecPtr at = w.lsn;
    TimestampTz commit_ts = (par_ ? par_->last_commit_time() : applier_.last_commit_time()).value;
    std::string ts =
        commit_ts != 0
            ? std::string(pg::pg_call([commit_ts] { return timestamptz_to_str(commit_ts); }))
            : std::string();
    pg::begin_xact();
    pg::spi_connect();
    catalog::advance_progress(cfg_.local, cfg_.provider, ts, core::Lsn{at}, core::Lsn{w.insert_lsn},
                              w.by_decode);
    pg::spi_finish();
    pg::commit_xact();
    progress_written_ = at;
    progress_idle_ = !w.by_decode;
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
    if (par_) {
        par_->drain();  // paused between transactions: none in flight
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
    if (in_txn() || (!now && !TimestampDifferenceExceeds(last_sync_check_, ts, 1000))) {
        return;
    }
    last_sync_check_ = ts;
    pg::begin_xact();
    pg::spi_connect();
    std::vector<SqlRow> rows = pg::spi_query(
        "SELECT sync_nspname::text, sync_relname::text, sync_status::text, "
        "       sync_statuslsn::text FROM spock.local_sync_status "
        "WHERE sync_subid = $1::oid AND sync_relname IS NOT NULL "
        "  AND sync_status IN ('i', 'y') ORDER BY 1, 2",
        {std::to_string(cfg_.id)});
    pg::spi_finish();
    pg::commit_xact();
    auto& synced = applier_.synced();
    synced.clear();
    std::vector<Applier::TableKey> to_copy;
    for (const SqlRow& r : rows) {
        Applier::TableKey key(*r[0], *r[1]);
        if (*r[2] == "y") {
            synced[key] = core::Lsn::parse(*r[3]);
        } else {
            to_copy.push_back(key);
        }
    }
    if (par_ && !to_copy.empty()) {
        par_->drain();  // the copy runs in the leader, between transactions
    }
    for (const Applier::TableKey& key : to_copy) {
        send_feedback(true);  // the provider hears from us before a long copy
        core::Lsn at = applier_.resync_table(key);
        if (at.is_valid()) {
            synced[key] = at;
        }
    }
    bool waiting = false;
    if (par_) {
        // Changes a copy already holds are skipped by the leader's Applier only.
        par_->set_serial(!synced.empty());
    }
    for (auto it = synced.begin(); it != synced.end();) {
        if (received_ < it->second.value) {
            waiting = true;
            ++it;
            continue;
        }
        pg::begin_xact();
        pg::spi_connect();
        pg::spi_exec(
            "UPDATE spock.local_sync_status SET sync_status = 'r' "
            "WHERE sync_subid = $1::oid AND sync_nspname = $2::name AND sync_relname = $3::name "
            "  AND sync_status = 'y' AND sync_statuslsn = $4::pg_lsn",
            {std::to_string(cfg_.id), it->first.first, it->first.second, it->second.to_string()});
        pg::spi_finish();
        pg::commit_xact();
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
    early_.set_skip_lsn(fresh->skip_lsn);
    if (par_) {
        par_->set_skip_lsn(fresh->skip_lsn);
    }
    return false;
}

void Stream::run() {
    streams_.open_directory(spill_directory());
    processes_ = gucs::parallel_apply_workers;
    early_.set_skip_lsn(cfg_.skip_lsn);
    start(catalog::resume_position(cfg_.slot_name));
    if (ShutdownRequestPending) {
        return;
    }
    if (processes_ > 1) {
        par_ = std::make_unique<ParallelLeader>(cfg_, slot_, applier_, processes_);
        par_->set_skip_lsn(cfg_.skip_lsn);
        par_->set_idle_callback([this] { send_feedback(false); });
    }
    // Whatever way the stream ends, the processes are gone before the worker is, so that
    // nothing commits after the next worker has read where to resume.
    try {
        if (par_) {
            par_->start();
        }
        stream();
    } catch (...) {
        early_.stop();
        if (par_) {
            par_->stop();
        }
        throw;
    }
    early_.stop();
    if (par_) {
        par_->stop();
    }
}

void Stream::stream() {
    check_resync(true);
    PGconn* c = conn_->raw();
    last_recv_time_ = GetCurrentTimestamp();
    for (;;) {
        if (pg::interrupts_say_stop()) {
            return;
        }
        if (gucs::parallel_apply_workers != processes_ && !in_txn()) {
            pg::pg_call([this] {
                ereport(LOG, (errmsg("spock.parallel_apply_workers changed; restarting the apply "
                                     "worker of subscription \"%s\"",
                                     cfg_.name.c_str())));
            });
            return;
        }
        if (gucs::stream_in_progress != streaming_asked_ && !in_txn()) {
            pg::pg_call([this] {
                ereport(LOG, (errmsg("spock.stream_in_progress changed; restarting the apply "
                                     "worker of subscription \"%s\"",
                                     cfg_.name.c_str())));
            });
            return;
        }
        char* buf = nullptr;
        int len = PQgetCopyData(c, &buf, 1);
        if (len == 0 && !TimestampDifferenceExceeds(last_idle_pass_, GetCurrentTimestamp(), 100)) {
            // libpq's buffer ran dry: read what the socket already holds before taking the
            // stream for idle. A busy stream refills the buffer thousands of times a second;
            // going through the idle pass at each refill sent a feedback message (which also
            // wakes the walsender) and waited on the socket every few transactions
            // (docs/performance.md, "System calls of a busy stream"). The idle pass still runs
            // at least every 100 ms while data keeps coming.
            if (!PQconsumeInput(c)) {
                throw core::Error("08006", "lost the replication connection to the provider",
                                  std::string("libpq: ") + PQerrorMessage(c));
            }
            len = PQgetCopyData(c, &buf, 1);
        }
        if (len > 0) {
            std::unique_ptr<char, decltype(&PQfreemem)> owned(buf, &PQfreemem);
            last_recv_time_ = GetCurrentTimestamp();
            process(buf, len);
            if (stop_) {
                return;
            }
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
        last_idle_pass_ = GetCurrentTimestamp();
        send_feedback(false);
        if (par_) {
            par_->poll();
        }
        if (!in_txn()) {
            early_.poll();  // a stream apply process that rolled back is heard of at once
            // Table statistics of applied changes: the flush after a commit is skipped when
            // the last one was less than a second ago, so an idle worker flushes here.
            pg::pg_call([] { pgstat_report_stat(false); });
            applier_.log_replay_summary();
            applier_.report_conflicts();
            update_progress();
            check_resync(false);
            wait_while_paused();
        }
        int socket = PQsocket(c);
        // With local commits still to be flushed (synchronous_commit is off), look again soon
        // so that the provider hears about them without waiting a whole second.
        long wait_ms = applier_.has_unflushed() || (par_ && par_->has_unflushed()) ? 100L : 1000L;
        int rc = pg::pg_call([socket, wait_ms] {
            int r = WaitLatchOrSocket(
                MyLatch, WL_LATCH_SET | WL_SOCKET_READABLE | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
                socket, wait_ms, PG_WAIT_EXTENSION);
            ResetLatch(MyLatch);
            return r;
        });
        // A wake-up in the middle of a remote transaction (a new skip LSN, say) is kept until
        // the transaction is done, not lost.
        wake_pending_ = wake_pending_ || (rc & WL_LATCH_SET) != 0;
        if (wake_pending_ && !in_txn()) {
            wake_pending_ = false;
            if (config_changed()) {
                pg::pg_call([this] {
                    ereport(LOG, (errmsg("subscription \"%s\" changed; restarting its apply worker",
                                         cfg_.name.c_str())));
                });
                return;
            }
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

}  // namespace spock::apply
