// The stream apply process (docs/architecture.md, "Early apply of streamed transactions"; the
// worker's side is stream_apply.cpp). It applies the changes of one streamed transaction as
// they arrive, in one local transaction that stays open across the stream's blocks, with a
// subtransaction from each subtransaction's first change on, so that a subtransaction abort
// rolls back what the worker's spool cuts. At the worker's word it commits under its origin
// "<origin>:w100" with the remote commit's position and time, or rolls back.
//
// It never handles a failure itself beyond rolling back: an error or a conflict marks the
// transaction failed, and the worker applies it from its spool at the commit, where conflict
// handling, exception handling and replay work as for any transaction. The spool is also the
// replay record: this process keeps none.
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "spock/apply/row_apply.hpp"
#include "spock/core/early_apply.hpp"
#include "spock/core/exception_policy.hpp"
#include "spock/core/protocol.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/process_memory.hpp"
#include "spock/pg/read_only.hpp"
#include "spock/pg/xact.hpp"

#include "stream_apply_shared.hpp"
#include "sub_config.hpp"

extern "C" {
#include <access/xact.h>
#include <access/xlog.h>
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/bgworker.h>
#include <replication/origin.h>
#include <storage/dsm.h>
#include <storage/ipc.h>
#include <storage/lmgr.h>
#include <storage/shm_mq.h>
#include <tcop/tcopprot.h>
#include <utils/guc.h>
#include <utils/memutils.h>
}

namespace spock::apply {
namespace {

StreamApplyShared* g_sh = nullptr;

std::uint64_t conflicts_seen() {
    std::uint64_t n = 0;
    for (std::uint64_t v : pending_conflicts().n) {
        n += v;
    }
    return n;
}

void parallel_state(StreamApplyState s) {
    pg_atomic_write_u32(&g_sh->state, static_cast<uint32>(s));
}

std::uint32_t get_u32(const char* p) {
    std::uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

class Process {
  public:
    Process(const SubConfig& cfg, shm_mq_handle* mqh) : cfg_(cfg), mqh_(mqh) {}
    void run();

  private:
    void command(const char* data, Size len);
    void begin(core::TransactionId xid, const std::string& origin);
    void use_origin(const std::string& name);
    void change(std::string_view payload);
    void subxact(core::TransactionId subxid);
    void abort_subxact(core::TransactionId subxid);
    void commit(const StreamApplyCommit& c);
    void rollback();
    void fail(core::EarlyFallback why, const std::string& text);
    void answer(std::uint64_t command, StreamApplyOutcome outcome);
    // The next command; false when the worker is gone.
    bool receive(Size* len, void** data);

    const SubConfig& cfg_;
    shm_mq_handle* mqh_;
    RemoteTxn txn_;
    bool open_ = false;    // a local transaction is open
    bool failed_ = false;  // it failed; the rest of the transaction is ignored
    std::vector<std::pair<core::TransactionId, pg::Subxact>> subs_;
    MemoryContext change_cxt_ = nullptr;
    RepOriginId origin_ = InvalidRepOriginId;
    std::uint64_t committing_ = 0;  // the commit command being carried out
};

bool Process::receive(Size* len, void** data) {
    shm_mq_handle* mqh = mqh_;
    shm_mq_result r =
        pg::pg_call([mqh, len, data] { return shm_mq_receive(mqh, len, data, true); });
    if (r == SHM_MQ_WOULD_BLOCK && open_ && !failed_) {
        // Nothing queued while this transaction holds rows. Between the blocks of a stream the
        // worker holds the lock: the wait for the next block is a lock wait the deadlock
        // detector sees (a worker waiting for a row this transaction holds closes a cycle;
        // then one of the two fails with 40P01). An idle process waits on the queue alone.
        parallel_state(StreamApplyState::Waiting);
        pg::pg_call([] {
            LOCKTAG tag;
            stream_apply_lock_tag(&tag, g_sh->dboid, g_sh->subid);
            (void)LockAcquire(&tag, ShareLock, false, false);
            LockRelease(&tag, ShareLock, false);
        });
        parallel_state(StreamApplyState::Applying);
    }
    if (r == SHM_MQ_WOULD_BLOCK) {
        r = pg::pg_call([mqh, len, data] { return shm_mq_receive(mqh, len, data, false); });
    }
    return r == SHM_MQ_SUCCESS;
}

void Process::answer(std::uint64_t command, StreamApplyOutcome outcome) {
    pg_atomic_write_u32(&g_sh->outcome, static_cast<uint32>(outcome));
    pg_write_barrier();
    pg_atomic_write_u64(&g_sh->done, command);
    PGPROC* w = g_sh->worker;
    pg::pg_call([w] { SetLatch(&w->procLatch); });
}

void Process::fail(core::EarlyFallback why, const std::string& text) {
    pg::abort_xact();
    subs_.clear();
    open_ = false;
    failed_ = true;
    pending_conflicts().clear();  // the worker counts them again when it applies from the spool
    snprintf(g_sh->error, sizeof g_sh->error, "%s", text.c_str());
    pg_atomic_write_u32(&g_sh->failed_xid, txn_.xid);
    pg_write_barrier();
    pg_atomic_write_u32(&g_sh->failed, static_cast<uint32>(why));
    parallel_state(StreamApplyState::Failed);
    PGPROC* w = g_sh->worker;
    pg::pg_call([w] { SetLatch(&w->procLatch); });
}

// Sets up the replication origin the transaction is applied under, before its first change:
// every WAL record then carries it, so this node's own walsenders see the changes as another
// node's (not to be sent on) already while they are decoded before the commit.
void Process::use_origin(const std::string& name) {
    RepOriginId* have = &origin_;
    pg::pg_call([&name, have] {
        RepOriginId id = replorigin_by_name(name.c_str(), false);
        if (id != *have) {
            if (*have != InvalidRepOriginId) {
                replorigin_session_reset();
            }
            replorigin_session_setup(id);
            *have = id;
        }
        replorigin_session_origin = id;
    });
}

void Process::begin(core::TransactionId xid, const std::string& origin) {
    if (open_) {
        pg::abort_xact();
        subs_.clear();
    }
    // The origin is the provider's until the commit says otherwise; a commit from another
    // origin falls back (core::early_commit_rule), so origin checks made now are the ones the
    // commit would make. The commit time is not known: any conflict falls back.
    txn_ = RemoteTxn{};
    txn_.origin_node = cfg_.provider;
    txn_.provider_node = cfg_.provider;
    txn_.subscription_id = cfg_.id;
    txn_.xid = xid;
    failed_ = false;
    pending_conflicts().clear();  // this process reports none: only this transaction's count
    pg_atomic_write_u32(&g_sh->failed, 0);
    pg_atomic_write_u32(&g_sh->xid, xid);
    parallel_state(StreamApplyState::Applying);
    pg::begin_xact();
    open_ = true;        // from here an error falls back
    use_origin(origin);  // a catalog lookup: inside the transaction
}

void Process::change(std::string_view payload) {
    if (!open_ || failed_) {
        return;
    }
    core::ProtocolMessage msg = core::decode_message(payload);
    if (change_cxt_ == nullptr) {
        change_cxt_ = pg::pg_call([] {
            return AllocSetContextCreate(TopMemoryContext, "spock stream apply change",
                                         ALLOCSET_DEFAULT_SIZES);
        });
    }
    MemoryContext cxt = change_cxt_;
    const RemoteTxn* txn = &txn_;
    const core::ProtocolMessage* m = &msg;
    pg::pg_call([cxt, txn, m] {
        MemoryContext old = MemoryContextSwitchTo(cxt);
        if (const auto* r = std::get_if<core::Relation>(m)) {
            remember_relation(*r);
        } else if (const auto* i = std::get_if<core::Insert>(m)) {
            apply_insert(*txn, *i);
        } else if (const auto* u = std::get_if<core::Update>(m)) {
            apply_update(*txn, *u);
        } else {
            ereport(ERROR, (errcode(ERRCODE_PROTOCOL_VIOLATION),
                            errmsg("stream apply: a change it does not take")));
        }
        MemoryContextSwitchTo(old);
        MemoryContextReset(cxt);
    });
    if (conflicts_seen() != 0) {
        fail(core::early_conflict_rule(), "a conflict");
        return;
    }
    if (!std::holds_alternative<core::Relation>(msg)) {
        pg_atomic_fetch_add_u64(&g_sh->changes, 1);
    }
}

void Process::subxact(core::TransactionId subxid) {
    if (!open_ || failed_) {
        return;
    }
    for (const auto& s : subs_) {
        if (s.first == subxid) {
            return;  // already open: its changes go on in the innermost one
        }
    }
    // Rows buffered for multi-insert belong to the enclosing (sub)transaction.
    pg::pg_call([] { flush_pending(); });
    if (conflicts_seen() != 0) {  // met while writing the buffered rows
        fail(core::early_conflict_rule(), "a conflict");
        return;
    }
    subs_.emplace_back(subxid, pg::begin_subxact());
}

void Process::abort_subxact(core::TransactionId subxid) {
    if (!open_ || failed_) {
        return;
    }
    std::size_t at = subs_.size();
    for (std::size_t i = 0; i < subs_.size(); ++i) {
        if (subs_[i].first == subxid) {
            at = i;
            break;
        }
    }
    // Everything from its first change on goes, as in the spool (core/stream_spool.hpp).
    while (subs_.size() > at) {
        pg::rollback_subxact(subs_.back().second);
        subs_.pop_back();
    }
}

void Process::rollback() {
    if (open_) {
        pg::abort_xact();
    }
    subs_.clear();
    open_ = false;
    failed_ = false;
    pg_atomic_write_u32(&g_sh->xid, 0);
    // `failed` stays until the next begin: the worker reads why after a failed commit.
    parallel_state(StreamApplyState::Idle);
}

void Process::commit(const StreamApplyCommit& c) {
    committing_ = c.command;
    if (!open_ || failed_) {
        rollback();
        answer(c.command, StreamApplyOutcome::Failed);
        return;
    }
    pg::pg_call([] { flush_pending(); });
    while (!subs_.empty()) {
        pg::release_subxact(subs_.back().second);
        subs_.pop_back();
    }
    if (conflicts_seen() != 0) {  // met while writing the buffered rows
        fail(core::early_conflict_rule(), "a conflict");
        rollback();  // the worker hears of it from the answer: idle again
        answer(c.command, StreamApplyOutcome::Failed);
        return;
    }
    std::string name(c.origin, strnlen(c.origin, sizeof c.origin));
    use_origin(name);
    bool wrote = pg::pg_call([c] {
        if (!TransactionIdIsValid(GetTopTransactionIdIfAny())) {
            return false;  // nothing written: no commit record would carry the origin
        }
        replorigin_session_origin_lsn = c.end_lsn;
        replorigin_session_origin_timestamp = c.commit_time;
        return true;
    });
    if (!wrote) {
        rollback();
        answer(c.command, StreamApplyOutcome::Failed);  // the worker applies it from the spool
        return;
    }
    pg::commit_xact();
    open_ = false;
    // Flushed before the worker hears of it: it confirms the position to the provider.
    XLogRecPtr end = XactLastCommitEnd;
    pg::pg_call([end] { XLogFlush(end); });
    g_sh->local_end = end;
    pg_atomic_write_u32(&g_sh->xid, 0);
    pg_atomic_fetch_add_u64(&g_sh->committed, 1);
    parallel_state(StreamApplyState::Idle);
    answer(c.command, StreamApplyOutcome::Committed);
}

void Process::command(const char* data, Size len) {
    if (len < 1) {
        throw core::Error(core::sqlstate::kProtocolViolation, "stream apply: empty command");
    }
    const char* body = data + 1;
    Size n = len - 1;
    switch (data[0]) {
        case kSaBegin:
            if (n >= 4) {
                begin(get_u32(body), std::string(body + 4, n - 4));
            }
            return;
        case kSaChange:
            change(std::string_view(body, n));
            return;
        case kSaSubxact:
            if (n >= 4) {
                subxact(get_u32(body));
            }
            return;
        case kSaAbortSub:
            if (n >= 4) {
                abort_subxact(get_u32(body));
            }
            return;
        case kSaAbort: {
            std::uint64_t cmd = 0;
            if (n >= 8) {
                std::memcpy(&cmd, body, 8);
            }
            rollback();
            answer(cmd, StreamApplyOutcome::RolledBack);
            return;
        }
        case kSaCommit: {
            StreamApplyCommit c;
            if (n < sizeof c) {
                throw core::Error(core::sqlstate::kProtocolViolation,
                                  "stream apply: short commit command");
            }
            std::memcpy(&c, body, sizeof c);
            commit(c);
            return;
        }
        case kSaFlush:
            return;
        default:
            throw core::Error(core::sqlstate::kProtocolViolation, "stream apply: unknown command");
    }
}

void Process::run() {
    for (;;) {
        Size len = 0;
        void* data = nullptr;
        committing_ = 0;
        try {
            // The wait for the next block may end in a deadlock error (40P01): a fallback.
            if (!receive(&len, &data)) {
                return;  // the worker is gone
            }
            command(static_cast<const char*>(data), len);
        } catch (const core::Error& e) {
            if (!open_ && !failed_) {
                // Not inside a transaction (after a local commit, say): the worker cannot
                // know what happened, so the process ends and the worker restarts.
                throw;
            }
            // The transaction goes back to the spool path; the process stays.
            fail(core::EarlyFallback::ProcessError,
                 core::error_text(e.sqlstate(), e.message(), e.detail()));
            if (committing_ != 0) {
                rollback();
                answer(committing_, StreamApplyOutcome::Failed);  // a deferred check, say
            }
        }
    }
}

}  // namespace
}  // namespace spock::apply

extern "C" SPOCK_EXPORT void spock_stream_apply_main(Datum main_arg);

void spock_stream_apply_main(Datum main_arg) {
    using namespace spock::apply;
    // SIGTERM from the worker ends the process at once, even inside a lock wait.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    spock::pg::keep_freed_memory();
    dsm_segment* seg = dsm_attach(DatumGetUInt32(main_arg));
    if (seg == nullptr) {
        proc_exit(0);  // the worker is already gone
    }
    dsm_pin_mapping(seg);
    g_sh = static_cast<StreamApplyShared*>(dsm_segment_address(seg));
    pg_atomic_write_u32(&g_sh->pid, static_cast<uint32>(MyProcPid));
    shm_mq* mq = static_cast<shm_mq*>(stream_apply_queue(g_sh));
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* mqh = shm_mq_attach(mq, seg, nullptr);
    spock::pg::set_process_writer(spock::core::Writer::Replication);
    BackgroundWorkerInitializeConnectionByOid(g_sh->dboid, InvalidOid, 0);
    spock::pg::guarded([mqh] {
        spock::pg::pg_call([] {
            SetConfigOption("session_replication_role", "replica", PGC_SUSET, PGC_S_OVERRIDE);
            SetConfigOption("check_function_bodies", "off", PGC_SUSET, PGC_S_OVERRIDE);
            // Each commit is flushed before the worker hears of it.
            SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
        });
        std::optional<SubConfig> cfg = load_config(g_sh->subid);
        if (!cfg) {
            return;
        }
        std::string app = cfg->slot_name + ":stream";
        spock::pg::pg_call([&app] { pgstat_report_appname(app.c_str()); });
        Process p(*cfg, mqh);
        parallel_state(StreamApplyState::Idle);
        p.run();
    });
    proc_exit(0);
}
