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

// last_commit_end: end of the last applied remote commit (0: none since the worker started);
// remote_insert: the provider's WAL insert position sent with that commit; caught_up_at: the
// provider position a keepalive showed fully applied (0: not yet); written: the remote_lsn
// this worker last wrote (0: none).
//
// Positions only move forward: a commit is written when it ends after what was written, an
// idle moment when the caught-up position is beyond it. (Comparing with != wrote the old
// commit again after an idle write, with an insert position behind the remote_lsn already in
// the row: lag_tracker showed negative lag bytes, every other second.)
ProgressWrite progress_write(std::uint64_t last_commit_end, std::uint64_t remote_insert,
                             std::uint64_t caught_up_at, std::uint64_t written) noexcept;

}  // namespace spock::core
