// What the apply worker writes to its spock.progress row (read by the lag_tracker view), on
// plain LSNs. Pure decision; src/apply/stream.cpp carries it out.
#pragma once

#include <cstdint>

namespace spock::core {

struct ProgressWrite {
    bool write = false;            // nothing new: leave the row alone
    bool by_decode = false;        // after an applied commit (true) or caught up while idle (false)
    std::uint64_t lsn = 0;         // remote_lsn
    std::uint64_t insert_lsn = 0;  // remote_insert_lsn, never below lsn
};

// While idle, the row is rewritten at most this often. Each write is WAL on this node, which
// moves the position its own subscribers' keepalives report, and so their caught-up position:
// written at every move, two idle nodes kept each other writing once a second for ever.
inline constexpr std::int64_t kIdleProgressIntervalMs = 10000;

// last_commit_end: end of the last applied remote commit (0: none since the worker started);
// remote_insert: the provider's WAL insert position sent with that commit; caught_up_at: the
// provider position a keepalive showed fully applied (0: not yet); written: the remote_lsn
// this worker last wrote (0: none); written_idle: that write was an idle one;
// ms_since_written: milliseconds since it.
//
// Positions only move forward: a commit is written when it ends after what was written, an
// idle moment when the caught-up position is beyond it. (Comparing with != wrote the old
// commit again after an idle write, with an insert position behind the remote_lsn already in
// the row: lag_tracker showed negative lag bytes, every other second.)
//
// The first idle write after commits (the row still says "by decode") is not held back, so
// lag_tracker shows no lag as soon as everything is applied; later idle writes, which only
// refresh the row's time, wait kIdleProgressIntervalMs.
ProgressWrite progress_write(std::uint64_t last_commit_end, std::uint64_t remote_insert,
                             std::uint64_t caught_up_at, std::uint64_t written,
                             bool written_idle = false,
                             std::int64_t ms_since_written = kIdleProgressIntervalMs) noexcept;

}  // namespace spock::core
