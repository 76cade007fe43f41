// What an apply worker and its stream apply process share (docs/architecture.md, "Early apply
// of streamed transactions"): one DSM segment with this header and one shm_mq, worker to
// process. The process answers through the header and the worker's latch.
#pragma once

#include <cstdint>

#include "spock/pg/postgres.hpp"

extern "C" {
#include <port/atomics.h>
#include <storage/lock.h>
#include <storage/proc.h>
}

namespace spock::apply {

// The queue bounds what early apply holds in memory, whatever the transaction's size.
inline constexpr Size kStreamApplyQueueBytes = 1024 * 1024;

// The stream apply process applies under "<origin>:w<K>" with this K, which no parallel apply
// process uses (at most kParallelMaxProcesses of them).
inline constexpr std::uint32_t kStreamApplyProcess = 100;

enum class StreamApplyState : uint32 {
    Starting = 0,
    Idle,      // no transaction open
    Applying,  // a streamed transaction's changes
    Waiting,   // for the next block of the stream (the lock below)
    Failed,    // rolled back after an error or conflict; waits for the worker to say so
};

// Commands, one per shm_mq message: a tag byte, then the body.
inline constexpr char kSaBegin = 'B';     // u32 xid, the origin's name
inline constexpr char kSaChange = 'P';    // one protocol message (R, I, U)
inline constexpr char kSaSubxact = 'S';   // u32 subxid: its changes follow
inline constexpr char kSaAbortSub = 'a';  // u32 subxid aborted
inline constexpr char kSaAbort = 'A';     // roll back (u64 command number)
inline constexpr char kSaCommit = 'C';    // StreamApplyCommit
inline constexpr char kSaFlush = 'F';     // nothing; sent to flush the queue at a block's end

struct StreamApplyCommit {
    std::uint64_t command;  // answered in `done`
    XLogRecPtr end_lsn;     // the remote commit's end: the origin's new position
    TimestampTz commit_time;
    char origin[NAMEDATALEN * 2];  // the origin to commit under (the worker created it)
};

// How the last command ended.
enum class StreamApplyOutcome : uint32 { None = 0, Committed, RolledBack, Failed };

struct StreamApplyShared {
    Oid dboid;
    Oid subid;
    int slot_index;  // the worker's slot
    PGPROC* worker;
    pg_atomic_uint32 pid;
    pg_atomic_uint32 state;  // StreamApplyState
    pg_atomic_uint32 xid;    // the transaction being early-applied (0: none)
    // The transaction failed in the process (a fallback reason, core::EarlyFallback), or 0.
    pg_atomic_uint32 failed;
    pg_atomic_uint32 failed_xid;  // the transaction `failed` is about
    pg_atomic_uint64 done;        // the last command (commit, abort) the process finished
    pg_atomic_uint32 outcome;     // of `done`
    XLogRecPtr local_end;         // of a commit: the local commit record's end, flushed
    // Counters since the worker started, for spock.get_stream_apply_status().
    pg_atomic_uint64 changes;        // changes applied early (also of rolled back transactions)
    pg_atomic_uint64 committed;      // transactions committed early
    pg_atomic_uint64 fallbacks;      // transactions that went back to the spool path
    pg_atomic_uint32 last_fallback;  // core::EarlyFallback of the latest
    char error[256];                 // the process's last error, for the worker's LOG line
};

inline Size stream_apply_segment_size() {
    return MAXALIGN(sizeof(StreamApplyShared)) + kStreamApplyQueueBytes;
}

inline void* stream_apply_queue(StreamApplyShared* sh) {
    return reinterpret_cast<char*>(sh) + MAXALIGN(sizeof(StreamApplyShared));
}

// The lock the process takes (share) when its queue is empty, and the worker holds
// (exclusive, session) whenever no block of the early-applied transaction is open: a wait of
// the worker on a row lock of the process's open transaction and the process's wait for the
// next block form a cycle PostgreSQL's deadlock detector sees. An advisory tag with a class of
// its own (parallel apply uses 0x5350).
inline void stream_apply_lock_tag(LOCKTAG* tag, Oid dboid, Oid subid) {
    SET_LOCKTAG_ADVISORY(*tag, dboid, subid, 0, 0x5351);
}

}  // namespace spock::apply
