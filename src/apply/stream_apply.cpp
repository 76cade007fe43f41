// Early apply of streamed transactions, the apply worker's side. See stream_apply.hpp.
#include "stream_apply.hpp"

#include <cstring>

#include "spock/pg/bgworker.hpp"
#include "spock/catalog/origins.hpp"
#include "spock/core/apply_progress.hpp"
#include "spock/core/origin_names.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"

extern "C" {
#include <miscadmin.h>
#include <postmaster/interrupt.h>
#include <pgstat.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <storage/lmgr.h>
#include <utils/memutils.h>
#include <utils/wait_event.h>
}

namespace spock::apply {
namespace {

// The process of this worker, for the exit callback: whatever way the worker leaves, the
// process is gone before it is, so it never commits after the next worker read where to
// resume.
BackgroundWorkerHandle* g_handle = nullptr;
bool g_exit_callback = false;

void stop_process(int, Datum) {
    if (g_handle != nullptr) {
        TerminateBackgroundWorker(g_handle);
        WaitForBackgroundWorkerShutdown(g_handle);
        g_handle = nullptr;
    }
}

void publish_segment(worker::WorkerSlot* slot, dsm_handle h) noexcept {
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot->stream_dsm = h;
    LWLockRelease(worker::shared()->lock);
}

core::EarlyChange change_kind(const core::ProtocolMessage& msg, bool* is_change) {
    *is_change = true;
    if (std::holds_alternative<core::Relation>(msg)) {
        return core::EarlyChange::Relation;
    }
    if (std::holds_alternative<core::Insert>(msg)) {
        return core::EarlyChange::Insert;
    }
    if (std::holds_alternative<core::Update>(msg)) {
        return core::EarlyChange::Update;
    }
    if (std::holds_alternative<core::Delete>(msg)) {
        return core::EarlyChange::Delete;
    }
    if (std::holds_alternative<core::Truncate>(msg)) {
        return core::EarlyChange::Truncate;
    }
    if (std::holds_alternative<core::LogicalMessage>(msg)) {
        return core::EarlyChange::Message;
    }
    *is_change = false;
    return core::EarlyChange::Message;
}

core::RelId relid_of(const core::ProtocolMessage& msg) {
    if (const auto* i = std::get_if<core::Insert>(&msg)) {
        return i->relid;
    }
    if (const auto* u = std::get_if<core::Update>(&msg)) {
        return u->relid;
    }
    if (const auto* d = std::get_if<core::Delete>(&msg)) {
        return d->relid;
    }
    return 0;
}

}  // namespace

std::string StreamApply::origin_name() const {
    return core::worker_origin_name(core::origin_name(cfg_.slot_name, cfg_.provider, cfg_.provider),
                                    kStreamApplyProcess);
}

bool StreamApply::allowed() const {
    // A delayed subscription applies at the delay's end, and a table being resynchronised
    // skips changes by the commit position: both need the commit first.
    return gucs::stream_early_apply && cfg_.apply_delay_ms <= 0 && applier_.synced().empty() &&
           !applier_.in_remote_txn();
}

bool StreamApply::spock_table(core::RelId relid) const {
    auto it = spock_rel_.find(relid);
    return it == spock_rel_.end() || it->second;  // not described in the stream: do not trust
}

bool StreamApply::start_process() {
    if (sh_ != nullptr && !gone_) {
        return true;
    }
    stop();
    Oid subid = cfg_.id;
    int slot_index = static_cast<int>(slot_ - worker::shared()->slots);
    std::string name = cfg_.name;
    const char* sub_name = name.c_str();
    bool ok = pg::pg_call([&, sub_name, subid, slot_index] {
        if (!g_exit_callback) {
            before_shmem_exit(stop_process, (Datum)0);
            g_exit_callback = true;
        }
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        seg_ = dsm_create(stream_apply_segment_size(), 0);
        dsm_pin_mapping(seg_);
        auto* sh = static_cast<StreamApplyShared*>(dsm_segment_address(seg_));
        memset(sh, 0, sizeof(StreamApplyShared));
        sh->dboid = MyDatabaseId;
        sh->subid = subid;
        sh->slot_index = slot_index;
        sh->worker = MyProc;
        pg_atomic_init_u32(&sh->pid, 0);
        pg_atomic_init_u32(&sh->state, static_cast<uint32>(StreamApplyState::Starting));
        pg_atomic_init_u32(&sh->xid, 0);
        pg_atomic_init_u32(&sh->failed, 0);
        pg_atomic_init_u32(&sh->failed_xid, 0);
        pg_atomic_init_u64(&sh->done, 0);
        pg_atomic_init_u32(&sh->outcome, 0);
        pg_atomic_init_u64(&sh->changes, 0);
        pg_atomic_init_u64(&sh->committed, 0);
        pg_atomic_init_u64(&sh->fallbacks, 0);
        pg_atomic_init_u32(&sh->last_fallback, 0);
        shm_mq* mq = shm_mq_create(stream_apply_queue(sh), kStreamApplyQueueBytes);
        shm_mq_set_sender(mq, MyProc);
        char name[BGW_MAXLEN];
        snprintf(name, sizeof name, "spock stream apply %u", subid);
        BackgroundWorkerHandle* handle;
        bool registered =
            pg::start_dynamic_worker("spock_stream_apply_main", name, "spock stream apply",
                                     UInt32GetDatum(dsm_segment_handle(seg_)), nullptr, 0, &handle);
        if (registered) {
            g_handle = handle;
            handle_ = handle;
            mq_ = shm_mq_attach(mq, seg_, handle);
        }
        MemoryContextSwitchTo(old);
        if (!registered) {
            ereport(LOG, (errmsg("subscription \"%s\" applies streamed transactions at their "
                                 "commit: no background worker slot for a stream apply process",
                                 sub_name),
                          errhint("Raise max_worker_processes.")));
        }
        sh_ = sh;
        return registered;
    });
    if (!ok) {
        return false;
    }
    gone_ = false;
    publish_segment(slot_, dsm_segment_handle(seg_));
    hold_lock(true);
    return true;
}

void StreamApply::stop() noexcept {
    try {
        hold_lock(false);
    } catch (...) {
    }
    if (seg_ != nullptr) {
        publish_segment(slot_, 0);
    }
    try {
        pg::pg_call([this] {
            stop_process(0, (Datum)0);
            if (seg_ != nullptr) {
                dsm_detach(seg_);
            }
            return 0;
        });
    } catch (...) {
        // Only postmaster death gets here; the process goes with it.
    }
    seg_ = nullptr;
    sh_ = nullptr;
    mq_ = nullptr;
    handle_ = nullptr;
}

void StreamApply::hold_lock(bool hold) {
    if (hold == holding_ || sh_ == nullptr) {
        return;
    }
    Oid db = sh_->dboid;
    Oid sub = sh_->subid;
    pg::pg_call([db, sub, hold] {
        LOCKTAG tag;
        stream_apply_lock_tag(&tag, db, sub);
        if (hold) {
            (void)LockAcquire(&tag, ExclusiveLock, true, false);
        } else {
            LockRelease(&tag, ExclusiveLock, true);
        }
    });
    holding_ = hold;
}

void StreamApply::send(char tag, std::string_view body, bool flush) {
    if (gone_ || mq_ == nullptr) {
        return;
    }
    shm_mq_iovec iov[2];
    iov[0].data = &tag;
    iov[0].len = 1;
    iov[1].data = body.data();
    iov[1].len = body.size();
    shm_mq_handle* mq = mq_;
    shm_mq_iovec* v = iov;
    // A full queue waits here: the queue, not the transaction, bounds the memory. The wait
    // keeps the provider informed and ends at shutdown.
    for (;;) {
        shm_mq_result r =
            pg::pg_call([mq, v, flush] { return shm_mq_sendv(mq, v, 2, true, flush); });
        if (r == SHM_MQ_SUCCESS) {
            return;
        }
        if (r != SHM_MQ_WOULD_BLOCK) {
            gone_ = true;
            if (plan_.fail(core::EarlyFallback::ProcessGone)) {
                note_fallback(core::EarlyFallback::ProcessGone);
            }
            return;
        }
        pause();
    }
}

void StreamApply::pause() {
    pg::pg_call([] {
        (void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100L,
                        PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
    if (ShutdownRequestPending) {
        throw core::Error("57P01", "apply worker of subscription \"" + cfg_.name +
                                       "\" stopping while its stream apply process is busy");
    }
    // Not at a STREAM COMMIT: the worker has received the commit's position but not applied
    // it, and a tick would confirm it to the provider.
    if (tick_ && !at_commit_) {
        tick_();
    }
}

void StreamApply::send_u32(char tag, std::uint32_t v, bool flush) {
    char b[4];
    std::memcpy(b, &v, 4);
    send(tag, std::string_view(b, 4), flush);
}

bool StreamApply::poll_failed() {
    if (sh_ == nullptr) {
        return false;
    }
    uint32 why = pg_atomic_read_u32(&sh_->failed);
    if (why == 0 || !plan_.forwarding()) {
        return false;
    }
    pg_read_barrier();
    if (pg_atomic_read_u32(&sh_->failed_xid) != *plan_.active()) {
        return false;  // about an earlier transaction
    }
    fall_back(static_cast<core::EarlyFallback>(why));
    return true;
}

bool StreamApply::wait_done(std::uint64_t cmd) {
    bool held = holding_;
    hold_lock(false);  // the process may be waiting for it
    bool done = false;
    for (;;) {
        if (pg_atomic_read_u64(&sh_->done) >= cmd) {
            pg_read_barrier();
            done = true;
            break;
        }
        BackgroundWorkerHandle* handle = handle_;
        bool stopped = pg::pg_call([handle] {
            pid_t pid;
            return GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED;
        });
        if (stopped) {
            done = pg_atomic_read_u64(&sh_->done) >= cmd;
            break;
        }
        pause();
    }
    if (!done) {
        gone_ = true;
    }
    hold_lock(held);
    return done;
}

void StreamApply::fall_back(core::EarlyFallback why) {
    plan_.fail(why);
    if (sh_ == nullptr) {
        return;
    }
    note_fallback(why);
    roll_back();
}

void StreamApply::note_fallback(core::EarlyFallback why) {
    pg_atomic_fetch_add_u64(&sh_->fallbacks, 1);
    pg_atomic_write_u32(&sh_->last_fallback, static_cast<uint32>(why));
    std::string reason(core::early_fallback_name(why));
    std::string error(sh_->error, strnlen(sh_->error, sizeof sh_->error));
    const char* sub = cfg_.name.c_str();
    pg::pg_call([sub, &reason, &error, why] {
        ereport(LOG, (errmsg("subscription \"%s\": a streamed transaction is applied from its "
                             "spool at its commit: %s",
                             sub, reason.c_str()),
                      why == core::EarlyFallback::ProcessError && !error.empty()
                          ? errdetail("%s", error.c_str())
                          : 0));
    });
}

void StreamApply::roll_back() {
    std::uint64_t cmd = ++next_cmd_;
    char b[8];
    std::memcpy(b, &cmd, 8);
    send(kSaAbort, std::string_view(b, 8), true);
    // Waits: rows the process holds must be free before the worker applies anything that may
    // touch them.
    if (!gone_) {
        (void)wait_done(cmd);
    }
}

void StreamApply::forward(std::string_view payload) {
    if (poll_failed()) {
        return;
    }
    send(kSaChange, payload, false);
}

void StreamApply::observe(std::string_view payload, const core::ProtocolMessage& msg) {
    using Step = core::EarlyApplyPlan::Step;
    if (const auto* s = std::get_if<core::StreamStart>(&msg)) {
        bool ok = s->first_segment && !plan_.active() && allowed();
        Step step = plan_.on_stream_start(s->xid, s->first_segment, ok);
        if (step == Step::Begin) {
            spock_rel_.clear();
            if (!start_process()) {
                plan_.fail(core::EarlyFallback::ProcessGone);
                return;
            }
            // The origin is set up from the first change on, as the worker's own is: changes
            // written without one would look local to this node's own subscribers, which
            // decode (and stream) them before the commit.
            std::string origin = origin_name();
            (void)catalog::ensure_origin(origin);
            std::string body(4, '\0');
            std::uint32_t xid = s->xid;
            std::memcpy(body.data(), &xid, 4);
            body += origin;
            send(kSaBegin, body, false);
            hold_lock(false);
        } else if (step == Step::Resume) {
            if (!poll_failed()) {
                hold_lock(false);
            }
        } else if (step == Step::FallBack) {
            fall_back(plan_.last_fallback());
        }
        return;
    }
    if (const auto* x = std::get_if<core::StreamXid>(&msg)) {
        Step step = plan_.on_stream_xid(x->xid);
        if (step == Step::Subxact) {
            send_u32(kSaSubxact, x->xid);
        } else if (step == Step::FallBack) {
            fall_back(plan_.last_fallback());
        }
        return;
    }
    if (std::holds_alternative<core::StreamStop>(msg)) {
        if (plan_.on_stream_stop() == Step::Pause) {
            send(kSaFlush, std::string_view(), true);
            hold_lock(true);
        }
        return;
    }
    if (const auto* a = std::get_if<core::StreamAbort>(&msg)) {
        Step step = plan_.on_stream_abort(a->xid, a->subxid);
        if (step == Step::RollbackSubxact) {
            send_u32(kSaAbortSub, a->subxid, true);
        } else if (step == Step::Rollback) {
            std::uint64_t cmd = ++next_cmd_;
            char b[8];
            std::memcpy(b, &cmd, 8);
            send(kSaAbort, std::string_view(b, 8), true);
            (void)wait_done(cmd);
        }
        return;
    }
    if (!plan_.in_active_block()) {
        return;
    }
    bool is_change = false;
    core::EarlyChange kind = change_kind(msg, &is_change);
    if (!is_change) {
        return;
    }
    bool spock = false;
    if (const auto* r = std::get_if<core::Relation>(&msg)) {
        spock = r->nspname == "spock";
        spock_rel_[r->relid] = spock;
    } else if (kind != core::EarlyChange::Truncate && kind != core::EarlyChange::Message) {
        spock = spock_table(relid_of(msg));
    }
    Step step = plan_.on_change(kind, spock);
    if (step == Step::Forward) {
        forward(payload);
    } else if (step == Step::FallBack) {
        fall_back(plan_.last_fallback());
    }
}

bool StreamApply::commit(const core::StreamCommit& c) {
    at_commit_ = true;
    bool done = false;
    try {
        done = commit_early(c);
    } catch (...) {
        at_commit_ = false;
        throw;
    }
    at_commit_ = false;
    return done;
}

bool StreamApply::commit_early(const core::StreamCommit& c) {
    using Step = core::EarlyApplyPlan::Step;
    poll_failed();
    bool provider = c.origin_id == 0 || c.origin_id == cfg_.provider;
    // A table resynchronised since the transaction began skips changes by the commit's
    // position, which early apply could not know: the spool path decides.
    bool skip = core::skip_transaction(skip_lsn_, c.commit_lsn) || !applier_.synced().empty();
    Step step = plan_.on_stream_commit(c.xid, provider, skip);
    if (step == Step::FallBack) {
        // The plan is already past the transaction; still count it and roll back.
        note_fallback(plan_.last_fallback());
        roll_back();
        return false;
    }
    if (step != Step::Commit || gone_) {
        return false;
    }
    // The process applied under this origin (created at the begin); the commit moves it.
    std::string origin = origin_name();
    StreamApplyCommit cmd{};
    cmd.command = ++next_cmd_;
    cmd.end_lsn = c.end_lsn.value;
    cmd.commit_time = c.commit_time.value;
    snprintf(cmd.origin, sizeof cmd.origin, "%s", origin.c_str());
    send(kSaCommit, std::string_view(reinterpret_cast<const char*>(&cmd), sizeof cmd), true);
    if (gone_ || !wait_done(cmd.command)) {
        // Gone while committing: whether it committed is not known here. The worker restarts
        // and resumes from the origins, which say exactly what is committed.
        throw core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                          "the stream apply process of subscription \"" + cfg_.name +
                              "\" ended while committing a streamed transaction",
                          "The apply worker restarts from the last transaction committed.",
                          "See the process's own messages in the server log.");
    }
    auto outcome = static_cast<StreamApplyOutcome>(pg_atomic_read_u32(&sh_->outcome));
    if (outcome != StreamApplyOutcome::Committed) {
        // It failed before the worker looked (an error or conflict), or at its commit.
        uint32 why =
            pg_atomic_read_u32(&sh_->failed_xid) == c.xid ? pg_atomic_read_u32(&sh_->failed) : 0;
        note_fallback(why != 0 ? static_cast<core::EarlyFallback>(why)
                               : core::EarlyFallback::ProcessError);
        return false;  // from the spool
    }
    core::Commit commit{c.commit_lsn, c.end_lsn, c.commit_time, c.remote_insert_lsn};
    applier_.committed_elsewhere(core::Lsn{sh_->local_end}, commit);
    return true;
}

void StreamApply::worker_failed(const core::Error& e) {
    // Only a deadlock can involve the process; anything else is the worker's own business.
    if (e.sqlstate() != "40P01" || !plan_.forwarding() || plan_.in_active_block()) {
        return;
    }
    fall_back(core::EarlyFallback::Deadlock);
}

}  // namespace spock::apply
