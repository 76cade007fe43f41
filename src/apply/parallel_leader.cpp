// The leader side of parallel apply. See parallel_leader.hpp.
#include "parallel_leader.hpp"

#include <cstring>

#include "spock/core/byte_order.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/guard.hpp"

#include "relation_keys.hpp"

extern "C" {
#include <access/xlog.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/dsm.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <storage/shm_mq.h>
#include <utils/memutils.h>
}

namespace spock::apply {
namespace {

// A transaction up to this size is handed to a process; a larger one is applied by the
// leader as it arrives, once every process is idle.
constexpr std::size_t kMaxBufferedTxn = 8 * 1024 * 1024;

// The processes of this leader, for the exit callback: whatever way the leader leaves, its
// processes are gone before it is, so no transaction commits after the next apply worker
// read its resume position.
BackgroundWorkerHandle* g_handles[kParallelMaxProcesses];
int g_nhandles = 0;
bool g_exit_callback = false;

void stop_processes(int, Datum) {
    for (int i = 0; i < g_nhandles; ++i) {
        TerminateBackgroundWorker(g_handles[i]);
    }
    for (int i = 0; i < g_nhandles; ++i) {
        WaitForBackgroundWorkerShutdown(g_handles[i]);
    }
    g_nhandles = 0;
}

void put_u32(std::string& out, std::uint32_t v) {
    char b[4];
    std::memcpy(b, &v, 4);
    out.append(b, 4);
}

core::Error process_gone(const SubConfig& cfg, int k, const char* what) {
    return core::Error(core::sqlstate::kObjectNotInPrerequisiteState,
                       "parallel apply process " + std::to_string(k) + " of subscription \"" +
                           cfg.name + "\" " + what,
                       "The apply worker stops all its processes and restarts from the last "
                       "transaction committed in order.",
                       "See the process's own messages in the server log.");
}

}  // namespace

ParallelLeader::ParallelLeader(const SubConfig& cfg, worker::WorkerSlot* slot, Applier& applier,
                               int nprocs)
    : cfg_(cfg),
      slot_(slot),
      applier_(applier),
      nprocs_(nprocs),
      pool_(static_cast<std::uint32_t>(nprocs), kMaxBufferedTxn) {}

void ParallelLeader::start() {
    int n = nprocs_;
    Oid subid = cfg_.id;
    int slot_index = static_cast<int>(slot_ - worker::shared()->slots);
    mq_.assign(static_cast<std::size_t>(n), nullptr);
    shm_mq_handle** mqs = mq_.data();
    std::string name = cfg_.name;
    const char* sub_name = name.c_str();
    sh_ = static_cast<ParallelShared*>(pg::pg_call([&] {
        if (!g_exit_callback) {
            before_shmem_exit(stop_processes, (Datum)0);
            g_exit_callback = true;
        }
        // The handles live as long as the worker (the exit callback uses them).
        MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
        seg_ = dsm_create(parallel_segment_size(n), 0);
        dsm_pin_mapping(seg_);
        auto* sh = static_cast<ParallelShared*>(dsm_segment_address(seg_));
        memset(sh, 0, sizeof(ParallelShared));
        sh->dboid = MyDatabaseId;
        sh->subid = subid;
        sh->slot_index = slot_index;
        sh->nprocs = n;
        sh->leader = MyProc;
        pg_atomic_init_u64(&sh->committed, 0);
        for (int k = 1; k <= n; ++k) {
            ParallelProcess& p = sh->procs[k - 1];
            pg_atomic_init_u64(&p.taken, 0);
            pg_atomic_init_u64(&p.done, 0);
            pg_atomic_init_u32(&p.disabled, 0);
            shm_mq* mq = shm_mq_create(parallel_queue(sh, k), kParallelQueueBytes);
            shm_mq_set_sender(mq, MyProc);
            BackgroundWorker bgw;
            memset(&bgw, 0, sizeof bgw);
            bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
            bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
            bgw.bgw_restart_time = BGW_NEVER_RESTART;
            snprintf(bgw.bgw_library_name, BGW_MAXLEN, "spock");
            snprintf(bgw.bgw_function_name, BGW_MAXLEN, "spock_parallel_apply_main");
            snprintf(bgw.bgw_name, BGW_MAXLEN, "spock parallel apply %u w%d", subid, k);
            snprintf(bgw.bgw_type, BGW_MAXLEN, "spock parallel apply");
            bgw.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg_));
            memcpy(bgw.bgw_extra, &k, sizeof k);
            bgw.bgw_notify_pid = MyProcPid;
            BackgroundWorkerHandle* handle;
            if (!RegisterDynamicBackgroundWorker(&bgw, &handle)) {
                ereport(ERROR, (errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
                                errmsg("could not start parallel apply process %d of subscription "
                                       "\"%s\"",
                                       k, sub_name),
                                errdetail("spock.parallel_apply_workers is %d; every process is a "
                                          "background worker.",
                                          n),
                                errhint("Raise max_worker_processes or lower "
                                        "spock.parallel_apply_workers.")));
            }
            g_handles[g_nhandles++] = handle;
            mqs[k - 1] = shm_mq_attach(mq, seg_, handle);
        }
        MemoryContextSwitchTo(old);
        return sh;
    }));
    std::string at = std::to_string(n);
    pg::pg_call([&] {
        ereport(LOG, (errmsg("subscription \"%s\" applies with %s parallel apply processes",
                             sub_name, at.c_str())));
    });
}

void ParallelLeader::stop() noexcept {
    if (g_nhandles == 0) {
        return;
    }
    try {
        pg::pg_call([] { stop_processes(0, (Datum)0); });
    } catch (...) {
        // Only postmaster death gets here; the processes go with it.
    }
}

void ParallelLeader::append(std::string_view payload) {
    put_u32(body_, static_cast<std::uint32_t>(payload.size()));
    body_.append(payload);
}

// The RELATION message a change needs, as it is when the transaction first uses it: the
// process that gets the transaction may not have seen it.
void ParallelLeader::note_relation(core::RelId relid) {
    if (!rels_used_.insert(relid).second) {
        return;
    }
    auto it = rel_msg_.find(relid);
    if (it != rel_msg_.end()) {
        put_u32(rels_, static_cast<std::uint32_t>(it->second.size()));
        rels_.append(it->second);
    }
}

void ParallelLeader::handle(std::string_view payload, const core::ProtocolMessage& msg) {
    if (disabled_) {
        return;  // the stream stops after this message
    }
    if (const auto* b = std::get_if<core::Begin>(&msg)) {
        buffering_ = true;
        direct_ = false;
        final_lsn_ = b->final_lsn;
        begin_.clear();
        put_u32(begin_, static_cast<std::uint32_t>(payload.size()));
        begin_.append(payload);
        rels_.clear();
        body_.clear();
        rels_used_.clear();
        keys_.clear();
        return;
    }
    if (!buffering_) {
        // Outside a transaction (a sync event, the startup message): after everything before
        // it, in the leader, as serial apply does.
        drain();
        applier_.handle(payload, msg);
        disabled_ = disabled_ || applier_.subscription_disabled();
        return;
    }
    if (direct_) {
        if (const auto* r = std::get_if<core::Relation>(&msg)) {
            rel_msg_[r->relid] = std::string(payload);
            rel_keys_.erase(r->relid);  // read again outside the local transaction
        }
        applier_.handle(payload, msg);
        if (const auto* c = std::get_if<core::Commit>(&msg)) {
            finish_in_leader(tracker_.admit(keys_).seq, *c);
        }
        return;
    }
    const core::RelationKeys* rk = nullptr;
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, core::Relation>) {
                rel_msg_[m.relid] = std::string(payload);
                rel_keys_[m.relid] = relation_keys(m);
                rels_used_.insert(m.relid);  // defined in the transaction itself from here
            } else if constexpr (std::is_same_v<T, core::Insert> ||
                                 std::is_same_v<T, core::Update> ||
                                 std::is_same_v<T, core::Delete>) {
                note_relation(m.relid);
                auto it = rel_keys_.find(m.relid);
                auto known = rel_msg_.find(m.relid);
                if (it == rel_keys_.end() && known != rel_msg_.end()) {
                    core::ProtocolMessage def = core::decode_message(known->second);
                    it = rel_keys_.emplace(m.relid, relation_keys(std::get<core::Relation>(def)))
                             .first;
                }
                rk = it == rel_keys_.end() ? nullptr : &it->second;
            } else if constexpr (std::is_same_v<T, core::Truncate>) {
                for (core::RelId r : m.relids) {
                    note_relation(r);
                }
            }
        },
        msg);
    core::add_message_keys(msg, rk, keys_);
    append(payload);
    if (begin_.size() + rels_.size() + body_.size() > kMaxBufferedTxn) {
        go_direct();
        if (disabled_) {
            return;
        }
        if (const auto* c = std::get_if<core::Commit>(&msg)) {
            finish_in_leader(tracker_.admit(keys_).seq, *c);
        }
        return;
    }
    if (const auto* c = std::get_if<core::Commit>(&msg)) {
        dispatch(*c);
    }
}

// Applies the length-prefixed messages in `bytes` through the leader's own Applier.
void ParallelLeader::apply_here(const std::string& bytes) {
    std::size_t pos = 0;
    while (pos + 4 <= bytes.size()) {
        std::uint32_t len;
        std::memcpy(&len, bytes.data() + pos, 4);
        std::string_view payload(bytes.data() + pos + 4, len);
        pos += 4 + len;
        applier_.handle(payload, core::decode_message(payload));
    }
}

// The transaction is too large to buffer: once every process is idle the leader applies what
// it has and the rest as it arrives.
void ParallelLeader::go_direct() {
    drain();
    if (disabled_) {
        return;
    }
    direct_ = true;
    keys_.set_barrier();
    apply_here(begin_);
    apply_here(rels_);
    apply_here(body_);
    begin_.clear();
    rels_.clear();
    body_.clear();
}

void ParallelLeader::finish_in_leader(core::ApplySeq seq, const core::Commit& commit) {
    buffering_ = false;
    direct_ = false;
    tracker_.committed(seq);
    pool_.committed_by_leader(commit.end_lsn);
    pg_atomic_write_u64(&sh_->committed, seq);
    flush_.committed(core::Lsn{XactLastCommitEnd}, commit.end_lsn);
    last_end_ = commit.end_lsn;
    last_time_ = commit.commit_time;
    disabled_ = disabled_ || applier_.subscription_disabled();
}

void ParallelLeader::dispatch(const core::Commit& commit) {
    std::size_t bytes = begin_.size() + rels_.size() + body_.size();
    bool here = keys_.barrier() || serial_ || core::skip_transaction(skip_lsn_, final_lsn_);
    core::RouteDecision d = pool_.route(bytes);
    while (!here && d.route == core::Route::WaitForIdle && !disabled_) {
        wait_a_little();
        poll();
        d = pool_.route(bytes);
    }
    if (disabled_) {
        return;
    }
    if (here || d.route == core::Route::Leader) {
        keys_.set_barrier();
        core::Admission a = tracker_.admit(keys_);
        drain();
        if (disabled_) {
            return;
        }
        apply_here(begin_);
        apply_here(rels_);
        apply_here(body_);
        finish_in_leader(a.seq, commit);
        return;
    }
    core::Admission a = tracker_.admit(keys_);
    int k = static_cast<int>(d.process) + 1;
    wait_taken();
    if (disabled_) {
        return;
    }
    send(k, a);
    pool_.assign(d.process, a.seq, commit.end_lsn);
    in_flight_.push_back({a.seq, k});
    buffering_ = false;
    last_sent_ = {a.seq, k};
}

// The process takes the transaction's lock before it says it has it; nothing later is handed
// out before that, so whoever waits for a transaction finds its lock taken. Checked before the
// next send, so the leader reads the next transaction meanwhile.
void ParallelLeader::wait_taken() {
    if (last_sent_.k == 0) {
        return;
    }
    ParallelProcess* p = &sh_->procs[last_sent_.k - 1];
    while (pg_atomic_read_u64(&p->taken) < last_sent_.seq && !disabled_) {
        wait_a_little();
        poll();
    }
    last_sent_ = {0, 0};
}

void ParallelLeader::send(int k, const core::Admission& a) {
    ParallelTxnHeader h{a.seq, a.wait_for};
    shm_mq_iovec iov[4];
    iov[0].data = reinterpret_cast<const char*>(&h);
    iov[0].len = sizeof h;
    iov[1].data = begin_.data();
    iov[1].len = begin_.size();
    iov[2].data = rels_.data();
    iov[2].len = rels_.size();
    iov[3].data = body_.data();
    iov[3].len = body_.size();
    shm_mq_handle* mqh = mq_[static_cast<std::size_t>(k - 1)];
    shm_mq_result r = pg::pg_call([mqh, &iov] { return shm_mq_sendv(mqh, iov, 4, false, true); });
    if (r != SHM_MQ_SUCCESS) {
        throw process_gone(cfg_, k, "is gone");
    }
}

void ParallelLeader::poll() {
    while (!in_flight_.empty()) {
        InFlight f = in_flight_.front();
        ParallelProcess* p = &sh_->procs[f.k - 1];
        if (pg_atomic_read_u64(&p->done) < f.seq) {
            break;
        }
        pg_read_barrier();
        if (!pool_.committed(static_cast<std::uint32_t>(f.k - 1), f.seq)) {
            throw process_gone(cfg_, f.k, "reported a commit out of order");
        }
        tracker_.committed(f.seq);
        flush_.committed(core::Lsn{p->local_end}, core::Lsn{p->remote_end});
        last_end_ = core::Lsn{p->remote_end};
        last_time_ = core::TimestampUs{p->commit_time};
        LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
        slot_->last_applied = p->remote_end;
        slot_->last_commit_ts = p->commit_time;
        LWLockRelease(worker::shared()->lock);
        in_flight_.pop_front();
    }
    for (int k = 1; k <= nprocs_; ++k) {
        if (pg_atomic_read_u32(&sh_->procs[k - 1].disabled) != 0) {
            disabled_ = true;  // sub_disable: the worker stops, nothing after it commits
        }
    }
    if (disabled_) {
        return;
    }
    for (int k = 1; k <= nprocs_; ++k) {
        pid_t pid;
        BackgroundWorkerHandle* h = g_handles[k - 1];
        if (pg::pg_call([h, &pid] { return GetBackgroundWorkerPid(h, &pid); }) == BGWH_STOPPED) {
            throw process_gone(cfg_, k, "exited");
        }
    }
}

void ParallelLeader::drain() {
    poll();
    while (!pool_.all_idle() && !disabled_) {
        wait_a_little();
        poll();
    }
}

void ParallelLeader::wait_a_little() {
    pg::pg_call([] {
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100L,
                  PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
    if (ShutdownRequestPending) {
        throw core::Error("57P01", "apply worker of subscription \"" + cfg_.name +
                                       "\" stops while its parallel apply processes are busy");
    }
    if (idle_) {
        idle_();
    }
}

core::Lsn ParallelLeader::flush_position(core::Lsn received) {
    (void)applier_.flush_position(received);  // the leader's own commits are in flush_ too
    return flush_.flushed(core::Lsn{GetFlushRecPtr(nullptr)}, received,
                          buffering_ || !pool_.all_idle());
}

}  // namespace spock::apply
