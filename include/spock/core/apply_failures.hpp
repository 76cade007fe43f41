// Parallel apply: a transaction that keeps ending the set (docs/architecture.md, "Parallel
// apply"). When a process fails on a transaction (a deadlock with a later transaction over a
// key the leader could not know, say), the leader stops the set and the next apply worker
// starts over from the last commit, which meets the same transactions again. If the set ended
// twice in a row on the same transaction, the leader applies that one itself, with every
// process idle, where no later transaction can take part in a deadlock.
//
// The record lives in shared memory across worker restarts; this is its pure logic.
#pragma once

#include <cstdint>

#include "spock/core/lsn.hpp"

namespace spock::core {

struct SetFailure {
    Lsn end_lsn;              // the failed transaction's end on the provider; invalid: none
    std::uint32_t count = 0;  // how many times in a row the set ended on it
};

inline constexpr std::uint32_t kSerialAfterFailures = 2;

// The set ended on the transaction ending at `end_lsn`: the new record.
constexpr SetFailure record_set_failure(SetFailure prev, Lsn end_lsn) noexcept {
    if (prev.end_lsn.is_valid() && prev.end_lsn == end_lsn) {
        return SetFailure{end_lsn, prev.count + 1};
    }
    return SetFailure{end_lsn, 1};
}

// Whether the leader applies the transaction ending at `end_lsn` itself.
constexpr bool apply_in_leader(SetFailure f, Lsn end_lsn) noexcept {
    return f.end_lsn.is_valid() && f.end_lsn == end_lsn && f.count >= kSerialAfterFailures;
}

// A transaction ending at `end_lsn` committed: a record of it or of one before it is done with.
constexpr SetFailure after_commit(SetFailure f, Lsn end_lsn) noexcept {
    return f.end_lsn.is_valid() && f.end_lsn <= end_lsn ? SetFailure{} : f;
}

}  // namespace spock::core
