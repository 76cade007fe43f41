// What the leader of a subscription and its parallel apply processes share: one DSM segment
// with this header and one shm_mq per process, leader to process (docs/architecture.md,
// "Parallel apply"). The processes report through the header and the leader's latch.
#pragma once

#include <cstdint>

#include "spock/pg/postgres.hpp"

extern "C" {
#include <port/atomics.h>
#include <storage/lock.h>
#include <storage/proc.h>
}

namespace spock::apply {

inline constexpr Size kParallelQueueBytes = 1024 * 1024;  // per process
inline constexpr int kParallelMaxProcesses = 16;

struct ParallelProcess {
    pg_atomic_uint64 taken;  // the transaction it holds the lock of (it received it)
    pg_atomic_uint64 done;   // the last transaction it finished (committed, or had nothing to)
    // Of `done`, written before it: the local commit's end and the remote transaction's end.
    XLogRecPtr local_end;
    XLogRecPtr remote_end;
    TimestampTz commit_time;
    pg_atomic_uint32 disabled;  // sub_disable disabled the subscription
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
    ParallelProcess procs[kParallelMaxProcesses];
};

// What the leader puts in front of each transaction it sends.
struct ParallelTxnHeader {
    std::uint64_t seq;
    std::uint64_t wait_for;
};

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
