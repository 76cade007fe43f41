// What the leader of a subscription and its parallel apply processes share: one DSM segment
// with this header and one shm_mq per process, leader to process (docs/architecture.md,
// "Parallel apply"). The processes report through the header and the leader's latch.
#pragma once

#include <cstdint>

#include "spock/pg/postgres.hpp"

extern "C" {
#include <port/atomics.h>
#include <storage/condition_variable.h>
#include <storage/lock.h>
#include <storage/proc.h>
}

namespace spock::apply {

inline constexpr Size kParallelQueueBytes = 1024 * 1024;  // per process
inline constexpr int kParallelMaxProcesses = 16;

// What a process is doing, for spock.get_parallel_apply_status().
enum class ParallelState : uint32 {
    Starting = 0,  // not yet attached
    Idle,          // waiting for transactions from the leader
    Waiting,       // waiting for an earlier transaction to commit
    Applying,
    Disabled,  // sub_disable stopped the subscription at its transaction
};

struct ParallelProcess {
    pg_atomic_uint32 pid;
    pg_atomic_uint32 state;  // ParallelState
    pg_atomic_uint64 xacts;  // transactions it committed (or had nothing to commit)
    pg_atomic_uint64 taken;  // the transaction it holds the lock of (it received it)
    pg_atomic_uint64 done;   // the last transaction it finished (committed, or had nothing to)
    // Of `done`, written before it: the local commit's end and the remote transaction's end.
    XLogRecPtr local_end;
    XLogRecPtr remote_end;
    TimestampTz commit_time;
    pg_atomic_uint32 disabled;  // sub_disable disabled the subscription
    // The transaction whose end without a commit made this process fail (0: none), so the
    // leader knows which transaction ended the set.
    pg_atomic_uint64 lost;
};

struct ParallelShared {
    Oid dboid;
    Oid subid;
    int slot_index;  // the leader's worker slot
    int nprocs;
    PGPROC* leader;
    // Every transaction up to this number is committed (or was empty). Set by the process that
    // committed it before it releases its lock, so a waiter that got the lock sees it.
    pg_atomic_uint64 committed;
    // Messages whose transactions' locks are taken, counted by the processes as they take
    // them; acks_cv wakes those that wait for a count (ParallelTxnHeader::acks_needed).
    pg_atomic_uint64 acks;
    ConditionVariable acks_cv;
    ParallelProcess procs[kParallelMaxProcesses];
};

// What the leader puts in front of each transaction it sends; one message holds one or more
// of them, each followed by its `bytes` of length-prefixed protocol messages.
// A batch goes out striped, one message per process; acks_needed is the number of messages
// sent up to and with the last of its batch, so a process starts on its stripe only once every
// stripe's locks are taken (a transaction waits only for locks that are already taken).
struct ParallelTxnHeader {
    std::uint64_t seq;
    std::uint64_t wait_for;
    std::uint64_t bytes;
    std::uint64_t acks_needed;
};

inline void parallel_set_state(ParallelProcess* p, ParallelState s) {
    pg_atomic_write_u32(&p->state, static_cast<uint32>(s));
}

inline Size parallel_segment_size(int nprocs) {
    return MAXALIGN(sizeof(ParallelShared)) + static_cast<Size>(nprocs) * kParallelQueueBytes;
}

inline void* parallel_queue(ParallelShared* sh, int k) {  // k: 1-based process number
    return reinterpret_cast<char*>(sh) + MAXALIGN(sizeof(ParallelShared)) +
           static_cast<Size>(k - 1) * kParallelQueueBytes;
}

// The heavyweight lock of transaction `seq` of a subscription: held by the process applying it
// until it committed, taken in share mode by those that wait for it, so PostgreSQL's deadlock
// detector sees these waits. An advisory tag with a class no SQL function uses.
inline void parallel_lock_tag(LOCKTAG* tag, const ParallelShared* sh, std::uint64_t seq) {
    SET_LOCKTAG_ADVISORY(*tag, sh->dboid, sh->subid, static_cast<uint32>(seq), 0x5350);
}

}  // namespace spock::apply
