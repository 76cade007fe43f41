// A parallel apply process (docs/architecture.md, "Parallel apply"; the leader's side is
// parallel_leader.cpp). It receives whole remote transactions from its leader over an shm_mq,
// waits for the transaction it depends on, applies through the usual Applier under origins
// "<origin>:w<K>", waits for its turn (every earlier transaction committed) just before its
// local commit, commits and reports.
//
// Both waits take the heavyweight lock of the transaction waited for, which its process holds
// until it committed: PostgreSQL's deadlock detector sees them, so a cycle with a row lock (a
// key the leader could not know) ends in a deadlock error, and the leader restarts the set.
#include <cstring>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "spock/apply/channel_stats.hpp"
#include "spock/apply/delta_apply.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/replay_buffer.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/gucs.hpp"
#include "spock/pg/process_memory.hpp"
#include "spock/pg/read_only.hpp"
#include "spock/worker/shmem.hpp"

#include "applier.hpp"
#include "parallel_shared.hpp"
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
#include <utils/resowner.h>
}

namespace spock::apply {
namespace {

ParallelShared* g_sh = nullptr;
ParallelProcess* g_me = nullptr;
std::uint64_t g_seq = 0;                 // the transaction being applied (0: none)
bool g_turn = false;                     // every transaction before g_seq is known committed
XLogRecPtr g_final = InvalidXLogRecPtr;  // its commit LSN and end on the provider
XLogRecPtr g_end = InvalidXLogRecPtr;

// Waits until transaction `seq` committed (plain PostgreSQL code: may raise an ERROR).
void wait_committed(std::uint64_t seq) {
    if (seq == 0 || pg_atomic_read_u64(&g_sh->committed) >= seq) {
        return;
    }
    LOCKTAG tag;
    parallel_lock_tag(&tag, g_sh, seq);
    parallel_set_state(g_me, ParallelState::Waiting);
    // Outside a transaction there is no resource owner: a session-level wait.
    bool session = CurrentResourceOwner == nullptr;
    (void)LockAcquire(&tag, ShareLock, session, false);
    LockRelease(&tag, ShareLock, session);
    parallel_set_state(g_me, ParallelState::Applying);
    if (pg_atomic_read_u64(&g_sh->committed) < seq) {
        pg_atomic_write_u64(&g_me->lost, seq);
        ereport(ERROR,
                (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                 errmsg("parallel apply: transaction %llu ended without committing",
                        static_cast<unsigned long long>(seq)),
                 errdetail("Its apply process failed or exited; transaction %llu waited for it.",
                           static_cast<unsigned long long>(g_seq)),
                 errhint("The apply worker restarts the subscription's apply processes from the "
                         "last transaction committed in order.")));
    }
}

// Before a local commit that moves this process's origin to the transaction's position (the
// transaction itself, a replay of it, anything committed while the origin is set up for it):
// every earlier remote transaction must have committed, so origins and commits keep the
// provider's order. Other commits (creating an origin before the transaction starts) move it
// to no new position and do not wait, so they cannot join a lock cycle.
void before_commit(XactEvent event, void*) {
    if (event != XACT_EVENT_PRE_COMMIT || g_seq == 0 || g_turn ||
        !TransactionIdIsValid(GetTopTransactionIdIfAny()) ||
        replorigin_session_origin == InvalidRepOriginId ||
        (replorigin_session_origin_lsn != g_final && replorigin_session_origin_lsn != g_end)) {
        return;
    }
    wait_committed(g_seq - 1);
    g_turn = true;
}

// Before a stripe's first transaction: until every stripe of its batch has its locks taken
// (their processes were idle when the leader sent them, so this is short). It holds no row
// lock while it waits, and a process only waits for transactions before its own, so the wait
// cannot be part of a cycle; after it, every transaction it may wait for has its lock taken.
// At exit: a sleep on acks_cv, which lives in the segment, is cancelled while the segment is
// still mapped. A SIGTERM inside wait_acks() ends the process from within the sleep, and
// PostgreSQL cancels it only in ProcKill(), after every segment was detached (a crash).
void cancel_cv_sleep(int, Datum) {
    ConditionVariableCancelSleep();
}

void wait_acks(std::uint64_t needed) {
    if (pg_atomic_read_u64(&g_sh->acks) >= needed) {
        return;
    }
    ConditionVariablePrepareToSleep(&g_sh->acks_cv);
    while (pg_atomic_read_u64(&g_sh->acks) < needed) {
        ConditionVariableSleep(&g_sh->acks_cv, PG_WAIT_EXTENSION);
    }
    ConditionVariableCancelSleep();
}

void lock_own(std::uint64_t seq, bool take) {
    LOCKTAG tag;
    parallel_lock_tag(&tag, g_sh, seq);
    if (take) {
        (void)LockAcquire(&tag, ExclusiveLock, true, false);
    } else {
        LockRelease(&tag, ExclusiveLock, true);
    }
}

// One transaction of a message from the leader.
struct Received {
    ParallelTxnHeader header;
    const char* data;  // its length-prefixed protocol messages
};

// A message holds one or more transactions, each a header and its messages.
void split_message(const char* data, Size len, std::vector<Received>& out) {
    out.clear();
    Size pos = 0;
    while (pos < len) {
        Received t;
        if (len - pos < sizeof(ParallelTxnHeader)) {
            throw core::Error(core::sqlstate::kProtocolViolation,
                              "parallel apply: short transaction from the leader");
        }
        std::memcpy(&t.header, data + pos, sizeof t.header);
        pos += sizeof t.header;
        if (t.header.bytes > len - pos || t.header.seq == 0) {
            throw core::Error(core::sqlstate::kProtocolViolation,
                              "parallel apply: malformed transaction from the leader");
        }
        t.data = data + pos;
        pos += t.header.bytes;
        out.push_back(t);
    }
    if (out.empty()) {
        throw core::Error(core::sqlstate::kProtocolViolation,
                          "parallel apply: empty message from the leader");
    }
}

// The RELATION message of each relation as this process last applied it. The leader puts the
// message in front of every transaction that uses the relation (the process may not have seen
// it); one identical to the last needs no new relation map entry, whose rebuild (columns,
// defaults, key index, the multi-insert check) cost more than the rest of a small
// transaction.
using SeenRelations = std::unordered_map<core::RelId, std::string>;

// Waits for what `t` depends on, applies it as its own local transaction, waits for its turn
// and publishes its commit. False when sub_disable left it unapplied.
bool apply_one(Applier& applier, ParallelProcess* me, const Received& t, SeenRelations& seen) {
    std::uint64_t seq = t.header.seq;
    std::uint64_t wait_for = t.header.wait_for;
    pg::pg_call([wait_for] { wait_committed(wait_for); });
    g_seq = seq;
    g_turn = false;
    g_final = InvalidXLogRecPtr;
    g_end = InvalidXLogRecPtr;
    const char* p = t.data;
    const char* end = t.data + t.header.bytes;
    core::Lsn remote_end;
    core::TimestampUs commit_time;
    while (p + 4 <= end) {
        std::uint32_t n;
        std::memcpy(&n, p, 4);
        std::string_view payload(p + 4, n);
        p += 4 + n;
        core::ProtocolMessage msg = core::decode_message(payload);
        if (const auto* b = std::get_if<core::Begin>(&msg)) {
            g_final = b->final_lsn.value;
        } else if (const auto* c = std::get_if<core::Commit>(&msg)) {
            remote_end = c->end_lsn;
            commit_time = c->commit_time;
            g_end = c->end_lsn.value;
        } else if (const auto* r = std::get_if<core::Relation>(&msg)) {
            auto it = seen.find(r->relid);
            if (it != seen.end() && it->second == payload) {
                continue;  // the same definition the relation map has
            }
            applier.handle(payload, msg);
            seen[r->relid] = std::string(payload);
            continue;
        }
        applier.handle(payload, msg);
    }
    // Nothing was committed locally (all skipped, say): still in order.
    pg::pg_call([seq] {
        if (!g_turn) {
            wait_committed(seq - 1);
        }
    });
    if (applier.subscription_disabled()) {
        return false;
    }
    me->local_end = XactLastCommitEnd;
    me->remote_end = remote_end.value;
    me->commit_time = commit_time.value;
    pg_write_barrier();
    pg_atomic_write_u64(&g_sh->committed, seq);
    g_seq = 0;
    pg::pg_call([seq] { lock_own(seq, false); });
    pg_atomic_write_u64(&me->xacts, pg_atomic_read_u64(&me->xacts) + 1);
    pg_atomic_write_u64(&me->done, seq);
    return true;
}

void run(int k, shm_mq_handle* mqh) {
    ParallelShared* sh = g_sh;
    pg::pg_call([] {
        SetConfigOption("session_replication_role", "replica", PGC_SUSET, PGC_S_OVERRIDE);
        SetConfigOption("synchronous_commit", gucs::synchronous_commit ? "local" : "off", PGC_SUSET,
                        PGC_S_OVERRIDE);
        SetConfigOption("check_function_bodies", "off", PGC_SUSET, PGC_S_OVERRIDE);
        RegisterXactCallback(before_commit, nullptr);
    });
    std::optional<SubConfig> cfg = load_config(sh->subid);
    if (!cfg) {
        return;
    }
    std::string stem = "sub_" + std::to_string(sh->subid) + "w" + std::to_string(k);
    core::ReplayBuffer::remove_stale(spill_directory(), stem);
    std::string app = cfg->slot_name + ":w" + std::to_string(k);
    pg::pg_call([&app] { pgstat_report_appname(app.c_str()); });
    worker::WorkerSlot* slot = &worker::shared()->slots[sh->slot_index];
    Applier applier(*cfg, slot, static_cast<std::uint32_t>(k));
    // A transaction that failed before its turn may have failed only because an earlier one,
    // applied at the same time, had not committed yet (a key the leader could not know: a
    // foreign key or a unique index created on the subscriber after the leader read the
    // relation's keys, a subscriber trigger that reads other rows). Replaying it at once could
    // fail again and drop changes that serial apply would have applied; it is replayed once
    // every earlier transaction committed, where it sees what serial apply would see. It holds
    // no row lock while it waits (the failed attempt was rolled back).
    applier.set_before_replay([] {
        pg::pg_call([] {
            if (g_seq != 0 && !g_turn) {
                wait_committed(g_seq - 1);
                g_turn = true;
            }
        });
    });
    ParallelProcess* me = g_me;
    PGPROC* leader = sh->leader;
    std::vector<Received> txns;
    SeenRelations seen;
    for (;;) {
        Size len = 0;
        void* data = nullptr;
        parallel_set_state(me, ParallelState::Idle);
        shm_mq_result r =
            pg::pg_call([mqh, &len, &data] { return shm_mq_receive(mqh, &len, &data, false); });
        if (r != SHM_MQ_SUCCESS) {
            return;  // the leader is gone
        }
        split_message(static_cast<const char*>(data), len, txns);
        // Every lock of the batch is taken before the leader hears it has them: a transaction
        // handed out later may wait for any of them.
        const Received* first = txns.data();
        std::size_t n = txns.size();
        pg::pg_call([first, n] {
            for (std::size_t i = 0; i < n; ++i) {
                lock_own(first[i].header.seq, true);
            }
        });
        parallel_set_state(me, ParallelState::Applying);
        pg_atomic_write_u64(&me->taken, txns.back().header.seq);
        std::uint64_t needed = txns.front().header.acks_needed;
        pg::pg_call([sh, leader, needed] {
            pg_atomic_fetch_add_u64(&sh->acks, 1);
            ConditionVariableBroadcast(&sh->acks_cv);
            SetLatch(&leader->procLatch);
            wait_acks(needed);
        });
        for (const Received& t : txns) {
            if (!apply_one(applier, me, t, seen)) {
                // sub_disable left this transaction unapplied and the origin before it.
                // Nothing later may commit: "committed up to" stays short, so every later
                // transaction's wait fails once this process is gone, and the leader stops
                // them all.
                parallel_set_state(me, ParallelState::Disabled);
                pg_atomic_write_u32(&me->disabled, 1);
                pg::pg_call([leader] { SetLatch(&leader->procLatch); });
                return;
            }
        }
        // Idle again: the one moment the leader waits for (an idle process, a batch's last
        // commit); one wake-up per message, not per transaction.
        pg::pg_call([leader] { SetLatch(&leader->procLatch); });
    }
}

}  // namespace
}  // namespace spock::apply

extern "C" SPOCK_EXPORT void spock_parallel_apply_main(Datum main_arg);

void spock_parallel_apply_main(Datum main_arg) {
    using namespace spock::apply;
    int k = 0;
    std::memcpy(&k, MyBgworkerEntry->bgw_extra, sizeof k);
    // SIGTERM from the leader ends the process at once, even inside a lock wait.
    pqsignal(SIGTERM, die);
    BackgroundWorkerUnblockSignals();
    spock::pg::keep_freed_memory();
    dsm_segment* seg = dsm_attach(DatumGetUInt32(main_arg));
    if (seg == nullptr) {
        proc_exit(0);  // the leader is already gone
    }
    dsm_pin_mapping(seg);
    before_shmem_exit(cancel_cv_sleep, 0);
    g_sh = static_cast<ParallelShared*>(dsm_segment_address(seg));
    if (k < 1 || k > g_sh->nprocs) {
        elog(ERROR, "parallel apply process number %d out of range", k);
    }
    g_me = &g_sh->procs[k - 1];
    pg_atomic_write_u32(&g_me->pid, static_cast<uint32>(MyProcPid));
    shm_mq* mq = static_cast<shm_mq*>(parallel_queue(g_sh, k));
    shm_mq_set_receiver(mq, MyProc);
    shm_mq_handle* mqh = shm_mq_attach(mq, seg, nullptr);
    spock::pg::set_process_writer(spock::core::Writer::Replication);
    BackgroundWorkerInitializeConnectionByOid(g_sh->dboid, InvalidOid, 0);
    set_delta_apply_observer([](Oid relid, int ncolumns, bool) {
        channel_stats_count_delta(relid, static_cast<std::uint64_t>(ncolumns));
    });
    spock::pg::guarded([k, mqh] { run(k, mqh); });
    proc_exit(0);
}
