// The leader side of parallel apply. See parallel_leader.hpp.
#include "parallel_leader.hpp"

#include <cstring>

#include "spock/pg/bgworker.hpp"
#include "spock/core/byte_order.hpp"
#include "spock/core/error.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/xact.hpp"

#include "apply_stats.hpp"
#include "relation_keys.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <postmaster/interrupt.h>
#include <storage/dsm.h>
#include <storage/ipc.h>
#include <storage/latch.h>
#include <storage/shm_mq.h>
#include <utils/inval.h>
#include <utils/memutils.h>
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {

// A transaction up to this size is handed to a process; a larger one is applied by the
// leader as it arrives, once every process is idle.
constexpr std::size_t kMaxBufferedTxn = 8 * 1024 * 1024;

// A batch's limits, per process (the batch is striped over the processes).
constexpr std::size_t kBatchTxnsPerProcess = 16;
constexpr std::size_t kBatchBytesPerProcess = 256 * 1024;

// The processes of this leader, for the exit callback: whatever way the leader leaves, its
// processes are gone before it is, so no transaction commits after the next apply worker
// read its resume position.
BackgroundWorkerHandle* g_handles[kParallelMaxProcesses];
int g_nhandles = 0;
bool g_exit_callback = false;

// A relation's keys change with the subscriber's indexes and constraints, not only with a new
// RELATION message: any relcache invalidation makes the leader read them again.
bool g_keys_callback = false;
bool g_keys_stale = false;

void keys_invalidated(Datum, Oid) {
    g_keys_stale = true;
}

// How often the leader, which runs no local transaction while its processes apply, takes in
// invalidations (an empty transaction) to see new or dropped indexes.
constexpr long kKeysCheckMs = 200;

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

// Where spock.get_parallel_apply_status() finds the processes (0: none). Never fails.
void publish_segment(worker::WorkerSlot* slot, dsm_handle h) noexcept {
    LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
    slot->parallel_dsm = h;
    LWLockRelease(worker::shared()->lock);
}

}  // namespace

ParallelLeader::ParallelLeader(const SubConfig& cfg, worker::WorkerSlot* slot, Applier& applier,
                               int nprocs)
    : cfg_(cfg),
      slot_(slot),
      applier_(applier),
      nprocs_(nprocs),
      pool_(static_cast<std::uint32_t>(nprocs), kMaxBufferedTxn),
      batch_(core::BatchLimits{kBatchTxnsPerProcess * static_cast<std::size_t>(nprocs),
                               kBatchBytesPerProcess * static_cast<std::size_t>(nprocs)}) {}

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
        if (!g_keys_callback) {
            CacheRegisterRelcacheCallback(keys_invalidated, (Datum)0);
            g_keys_callback = true;
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
        pg_atomic_init_u64(&sh->acks, 0);
        ConditionVariableInit(&sh->acks_cv);
        for (int k = 1; k <= n; ++k) {
            ParallelProcess& p = sh->procs[k - 1];
            pg_atomic_init_u32(&p.pid, 0);
            pg_atomic_init_u32(&p.state, static_cast<uint32>(ParallelState::Starting));
            pg_atomic_init_u64(&p.xacts, 0);
            pg_atomic_init_u64(&p.taken, 0);
            pg_atomic_init_u64(&p.done, 0);
            pg_atomic_init_u32(&p.disabled, 0);
            pg_atomic_init_u64(&p.lost, 0);
            shm_mq* mq = shm_mq_create(parallel_queue(sh, k), kParallelQueueBytes);
            shm_mq_set_sender(mq, MyProc);
            char name[BGW_MAXLEN];
            snprintf(name, sizeof name, "spock parallel apply %u w%d", subid, k);
            BackgroundWorkerHandle* handle;
            if (!pg::start_dynamic_worker("spock_parallel_apply_main", name, "spock parallel apply",
                                          UInt32GetDatum(dsm_segment_handle(seg_)), &k, sizeof k,
                                          &handle)) {
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
    publish_segment(slot_, dsm_segment_handle(seg_));
    failure_ = load_set_failure(cfg_.id);
    std::string at = std::to_string(n);
    pg::pg_call([&] {
        ereport(LOG, (errmsg("subscription \"%s\" applies with %s parallel apply processes",
                             sub_name, at.c_str())));
    });
}

void ParallelLeader::stop() noexcept {
    if (seg_ != nullptr) {
        publish_segment(slot_, 0);
    }
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
    put_u32(out_, static_cast<std::uint32_t>(payload.size()));
    out_.append(payload);
}

// The RELATION message a change needs, as it is when the transaction first uses it, right
// before that change: the process that gets the transaction may not have seen it.
void ParallelLeader::note_relation(core::RelId relid) {
    if (!rels_used_.insert(relid).second) {
        return;
    }
    auto it = rel_msg_.find(relid);
    if (it != rel_msg_.end()) {
        append(it->second);
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
        refresh_keys();
        out_.resize(batch_end_);
        ParallelTxnHeader h{};
        out_.append(reinterpret_cast<const char*>(&h), sizeof h);  // filled in at COMMIT
        append(payload);
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
    if (out_.size() - batch_end_ > kMaxBufferedTxn) {
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

// Between transactions, now and then: take in invalidations and forget every relation's keys
// when a relation changed (a unique index created on the subscriber, say); they are read again
// from the RELATION messages kept, at their next use.
void ParallelLeader::refresh_keys() {
    TimestampTz now = GetCurrentTimestamp();
    if (TimestampDifferenceExceeds(keys_checked_, now, static_cast<int>(kKeysCheckMs)) &&
        !IsTransactionState()) {
        keys_checked_ = now;
        pg::begin_xact();
        pg::commit_xact();
    }
    if (g_keys_stale) {
        g_keys_stale = false;
        rel_keys_.clear();
    }
}

// Applies the transaction being read (out_ from batch_end_) through the leader's own Applier;
// the pending batch is gone by then (drain()), so it starts at 0.
void ParallelLeader::apply_txn_here() {
    std::size_t pos = batch_end_ + sizeof(ParallelTxnHeader);
    while (pos + 4 <= out_.size()) {
        std::uint32_t len;
        std::memcpy(&len, out_.data() + pos, 4);
        std::string_view payload(out_.data() + pos + 4, len);
        pos += 4 + len;
        applier_.handle(payload, core::decode_message(payload));
    }
    out_.resize(batch_end_);
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
    apply_txn_here();
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
    forget_failure(commit.end_lsn);
}

// A commit at or past the transaction the set last ended on: that record is done with.
void ParallelLeader::forget_failure(core::Lsn end_lsn) {
    if (failure_.count == 0 && failure_.streak == 0) {
        return;
    }
    core::SetFailure f = core::after_commit(failure_, end_lsn);
    if (!(f == failure_)) {
        failure_ = f;
        store_set_failure(cfg_.id, f);
    }
}

void ParallelLeader::dispatch(const core::Commit& commit) {
    std::size_t bytes = out_.size() - batch_end_;
    bool recurring = core::apply_in_leader(failure_, commit.end_lsn);
    bool here = keys_.barrier() || serial_ || core::skip_transaction(skip_lsn_, final_lsn_) ||
                pool_.route(bytes).route == core::Route::Leader || recurring;
    if (recurring && !(failure_.end_lsn == commit.end_lsn)) {
        // A streak of failures on different transactions: serial up to the newest of them.
        if (!streak_logged_) {
            streak_logged_ = true;
            std::string until = failure_.until.to_string();
            std::string times = std::to_string(failure_.streak);
            const char* sub_name = cfg_.name.c_str();
            pg::pg_call([&until, &times, sub_name] {
                ereport(LOG,
                        (errmsg("subscription \"%s\" applies every transaction up to %s in its "
                                "apply worker, without parallel apply processes",
                                sub_name, until.c_str()),
                         errdetail("Its parallel apply processes stopped %s times in a row "
                                   "on different transactions.",
                                   times.c_str())));
            });
        }
    } else if (recurring) {
        std::string at = commit.end_lsn.to_string();
        std::string times = std::to_string(failure_.count);
        const char* sub_name = cfg_.name.c_str();
        pg::pg_call([&at, &times, sub_name] {
            ereport(LOG, (errmsg("subscription \"%s\" applies the transaction ending at %s in its "
                                 "apply worker, without parallel apply processes",
                                 sub_name, at.c_str()),
                          errdetail("Its parallel apply processes stopped on it %s times in a row.",
                                    times.c_str())));
        });
    }
    if (here) {
        keys_.set_barrier();
        core::Admission a = tracker_.admit(keys_);
        drain();
        if (disabled_) {
            return;
        }
        apply_txn_here();
        finish_in_leader(a.seq, commit);
        return;
    }
    core::Admission a = tracker_.admit(keys_);
    ParallelTxnHeader h{a.seq, a.wait_for, bytes - sizeof(ParallelTxnHeader), 0};
    std::memcpy(out_.data() + batch_end_, &h, sizeof h);
    take_reports();
    if (batch_.full_for(bytes)) {
        // Waits until every process is idle (or may take one each), so the batch is striped
        // over them; the transaction just read stays in out_, moved to its start.
        flush_batch(true, false);
        if (disabled_) {
            return;
        }
    }
    core::ApplySeq committed = pg_atomic_read_u64(&sh_->committed);
    bool joins = batch_.joins(a, bytes, idle_to_send() > 0, committed);
    if (!batch_.add(a, bytes)) {
        throw core::Error(core::sqlstate::kInternalError, "parallel apply: transaction " +
                                                              std::to_string(a.seq) +
                                                              " does not follow the pending batch");
    }
    batch_ends_.push_back(commit.end_lsn);
    batch_end_ = out_.size();
    buffering_ = false;
    // Independent of everything in flight and a process idle: at once. Otherwise it waits in
    // the batch for an idle process, or for the one it depends on to commit.
    flush_batch(!joins, !joins);
}

// How many processes a batch could go to now without waiting: the idle ones, once every
// message sent has its locks taken (whoever waits for a transaction must find its lock taken,
// so nothing later is handed out before).
std::size_t ParallelLeader::idle_to_send() {
    if (pg_atomic_read_u64(&sh_->acks) < sent_msgs_) {
        return 0;
    }
    std::uint32_t idle[kParallelMaxProcesses];
    return pool_.idle(idle, kParallelMaxProcesses);
}

void ParallelLeader::flush_batch(bool wait, bool force) {
    while (!batch_.empty() && !disabled_) {
        core::ApplySeq committed = pg_atomic_read_u64(&sh_->committed);
        if (batch_.ready(idle_to_send(), pool_.all_idle(), committed, force)) {
            send_batch();
            return;
        }
        if (!wait) {
            return;
        }
        wait_a_little();
        take_reports();
        check_alive();
    }
}

// The batch, striped over the idle processes (core::PendingBatch::stripe_of): one message
// each, straight from out_ (shm_mq_sendv, no copy). Every transaction carries the number of
// messages whose locks must be taken before its process starts on it: all of this batch.
void ParallelLeader::send_batch() {
    std::uint32_t idle[kParallelMaxProcesses];
    std::size_t nidle = pool_.idle(idle, kParallelMaxProcesses);
    std::size_t n = batch_.stripes(nidle);
    std::size_t count = batch_.count();
    core::ApplySeq first = batch_.first();
    std::uint64_t acks_needed = sent_msgs_ + n;
    txn_at_.clear();
    for (std::size_t pos = 0; pos < batch_end_;) {
        ParallelTxnHeader h;
        std::memcpy(&h, out_.data() + pos, sizeof h);
        h.acks_needed = acks_needed;
        std::memcpy(out_.data() + pos, &h, sizeof h);
        txn_at_.push_back(pos);
        pos += sizeof h + h.bytes;
    }
    if (n == 0 || txn_at_.size() != count || batch_ends_.size() != count) {
        throw core::Error(core::sqlstate::kInternalError,
                          "parallel apply: the pending batch does not match its transactions");
    }
    txn_at_.push_back(batch_end_);
    shm_mq_iovec iov[kBatchTxnsPerProcess * kParallelMaxProcesses];
    for (std::size_t j = 0; j < n; ++j) {
        int iovcnt = 0;
        for (std::size_t i = j; i < count; i += n) {
            iov[iovcnt].data = out_.data() + txn_at_[i];
            iov[iovcnt].len = txn_at_[i + 1] - txn_at_[i];
            ++iovcnt;
        }
        int k = static_cast<int>(idle[j]) + 1;
        shm_mq_handle* mqh = mq_[static_cast<std::size_t>(k - 1)];
        shm_mq_iovec* v = iov;
        shm_mq_result r =
            pg::pg_call([mqh, v, iovcnt] { return shm_mq_sendv(mqh, v, iovcnt, false, true); });
        if (r != SHM_MQ_SUCCESS) {
            throw process_gone(cfg_, k, "is gone");
        }
        core::ApplySeq last = first + j + ((count - 1 - j) / n) * n;
        pool_.assign(idle[j], first + j, last, n);
        ++sent_msgs_;
    }
    for (std::size_t i = 0; i < count; ++i) {
        in_flight_.push_back({first + i,
                              static_cast<int>(idle[core::PendingBatch::stripe_of(i, n)]) + 1,
                              batch_ends_[i]});
    }
    out_.erase(0, batch_end_);
    batch_end_ = 0;
    batch_.clear();
    batch_ends_.clear();
}

// The processes' reports: every transaction up to a process's `done` has committed, in order.
void ParallelLeader::take_reports() {
    int newest = 0;
    while (!in_flight_.empty()) {
        InFlight f = in_flight_.front();
        ParallelProcess* p = &sh_->procs[f.k - 1];
        if (pg_atomic_read_u64(&p->done) < f.seq) {
            break;
        }
        if (!pool_.committed(static_cast<std::uint32_t>(f.k - 1), f.seq, f.end_lsn)) {
            throw process_gone(cfg_, f.k, "reported a commit out of order");
        }
        tracker_.committed(f.seq);
        newest = f.k;
        in_flight_.pop_front();
    }
    if (newest != 0) {
        // Its latest commit is the newest of all (commits are in order); what it wrote before
        // `done` may already be of a later transaction, which committed as well.
        ParallelProcess* p = &sh_->procs[newest - 1];
        pg_read_barrier();
        flush_.committed(core::Lsn{p->local_end}, core::Lsn{p->remote_end});
        last_end_ = core::Lsn{p->remote_end};
        last_time_ = core::TimestampUs{p->commit_time};
        forget_failure(last_end_);
        LWLockAcquire(worker::shared()->lock, LW_EXCLUSIVE);
        slot_->last_applied = p->remote_end;
        slot_->last_commit_ts = p->commit_time;
        LWLockRelease(worker::shared()->lock);
    }
    for (int k = 1; k <= nprocs_; ++k) {
        if (pg_atomic_read_u32(&sh_->procs[k - 1].disabled) != 0) {
            disabled_ = true;  // sub_disable: the worker stops, nothing after it commits
        }
    }
}

// A process that exited ends the set. The transaction it ended on is recorded: the oldest in
// flight of the exited processes, or the one a process waited for when that one ended
// without committing (the process that failed first may not be reaped yet).
void ParallelLeader::check_alive() {
    if (disabled_) {
        return;
    }
    bool stopped[kParallelMaxProcesses] = {};
    int gone = 0;
    for (int k = 1; k <= nprocs_; ++k) {
        pid_t pid;
        BackgroundWorkerHandle* h = g_handles[k - 1];
        if (pg::pg_call([h, &pid] { return GetBackgroundWorkerPid(h, &pid); }) == BGWH_STOPPED) {
            stopped[k - 1] = true;
            gone = gone == 0 ? k : gone;
        }
    }
    if (gone == 0) {
        return;
    }
    core::ApplySeq failed = 0;
    for (const InFlight& f : in_flight_) {
        if (stopped[f.k - 1]) {
            failed = f.seq;
            break;
        }
    }
    for (int k = 1; k <= nprocs_; ++k) {
        core::ApplySeq lost = pg_atomic_read_u64(&sh_->procs[k - 1].lost);
        if (stopped[k - 1] && lost != 0 && (failed == 0 || lost < failed)) {
            failed = lost;
        }
    }
    for (const InFlight& f : in_flight_) {
        if (f.seq == failed) {
            failure_ = core::record_set_failure(failure_, f.end_lsn);
            store_set_failure(cfg_.id, failure_);
            break;
        }
    }
    throw process_gone(cfg_, gone, "exited");
}

void ParallelLeader::poll() {
    take_reports();
    check_alive();
    flush_batch(false, false);
}

void ParallelLeader::drain() {
    flush_batch(true, true);
    take_reports();
    check_alive();
    while (!pool_.all_idle() && !disabled_) {
        wait_a_little();
        take_reports();
        check_alive();
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
                          buffering_ || !pool_.all_idle() || !batch_.empty());
}

}  // namespace spock::apply
