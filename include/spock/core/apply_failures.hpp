// Parallel apply: a transaction that keeps ending the set (docs/architecture.md, "Parallel
// apply"). When a process fails on a transaction (a deadlock with a later transaction over a
// key the leader could not know, say), the leader stops the set and the next apply worker
// starts over from the last commit, which meets the same transactions again. If the set ended
// twice in a row on the same transaction, the leader applies that one itself, with every
// process idle, where no later transaction can take part in a deadlock. A failure that moves
// between transactions (A, then B, then A again, each restart starting before both) never
// counts twice on one: so the leader also counts set failures in a row (`streak`) until a
// commit reaches the newest transaction they ended on (`until`); from kSerialAfterStreak on it
// applies every transaction up to `until` itself, serially, then hands out again.
//
// The record lives in shared memory across worker restarts; this is its pure logic.
#pragma once

#include <cstdint>

#include "spock/core/lsn.hpp"

namespace spock::core {

struct SetFailure {
    Lsn end_lsn;               // the failed transaction's end on the provider; invalid: none
    std::uint32_t count = 0;   // how many times in a row the set ended on it
    std::uint32_t streak = 0;  // set failures in a row, on any transactions, before `until`
    Lsn until;                 // the newest transaction the streak's failures ended on

    constexpr bool operator==(const SetFailure&) const = default;
};

inline constexpr std::uint32_t kSerialAfterFailures = 2;
inline constexpr std::uint32_t kSerialAfterStreak = 3;

// The set ended on the transaction ending at `end_lsn`: the new record.
constexpr SetFailure record_set_failure(SetFailure prev, Lsn end_lsn) noexcept {
    SetFailure f{end_lsn, 1, prev.streak + 1, prev.until < end_lsn ? end_lsn : prev.until};
    if (prev.end_lsn.is_valid() && prev.end_lsn == end_lsn) {
        f.count = prev.count + 1;
    }
    return f;
}

// Whether the leader applies the transaction ending at `end_lsn` itself: the one the set ended
// on twice in a row, or any up to `until` after a streak of failures.
constexpr bool apply_in_leader(SetFailure f, Lsn end_lsn) noexcept {
    if (f.end_lsn.is_valid() && f.end_lsn == end_lsn && f.count >= kSerialAfterFailures) {
        return true;
    }
    return f.streak >= kSerialAfterStreak && f.until.is_valid() && end_lsn <= f.until;
}

// A transaction ending at `end_lsn` committed: a record of it or of one before it is done with;
// the streak ends once a commit reaches `until`.
constexpr SetFailure after_commit(SetFailure f, Lsn end_lsn) noexcept {
    SetFailure out = f;
    if (f.end_lsn.is_valid() && f.end_lsn <= end_lsn) {
        out.end_lsn = Lsn{};
        out.count = 0;
    }
    if (f.until.is_valid() && f.until <= end_lsn) {
        out.streak = 0;
        out.until = Lsn{};
    }
    return out;
}

}  // namespace spock::core
