// Who wins when a remote change meets a local row it conflicts with (reference §6.6). Pure
// decisions on plain values; the apply glue reads commit timestamps and node ids and carries out
// the result. Nothing here allocates or throws, so it is safe to call from per-row glue.
#pragma once

#include <cstdint>

#include "spock/core/lsn.hpp"

namespace spock::core {

// spock.conflict_resolution.
enum class ConflictPolicy {
    Error,            // refuse: the change fails
    ApplyRemote,      // the remote change always wins
    KeepLocal,        // the local row always wins
    LastUpdateWins,   // the newer commit wins (the default)
    FirstUpdateWins,  // the older commit wins
};

enum class ConflictWinner {
    Remote,
    Local,
    Error,
    NeedTiebreak,  // equal commit times from different origins: ask resolve_tiebreak()
};

// The local row as far as its commit timestamp record tells.
struct LocalRowState {
    bool written_by_current_transaction = false;  // xmin is ours: an earlier change of this txn
    bool frozen_or_unknown = false;  // frozen xmin, or no commit timestamp recorded for it
    TimestampUs commit_time;
    bool same_origin_as_remote = false;  // the local row came from the remote change's origin
};

// First step: decides on policy and commit times. A row written by the current transaction
// loses to the remote change under the time-based policies. A row whose commit time is unknown
// (frozen, or committed before track_commit_timestamp was on) counts as the oldest of all: the
// remote change wins under last_update_wins, the local row wins under first_update_wins.
ConflictWinner resolve_conflict(ConflictPolicy policy, const LocalRowState& local,
                                TimestampUs remote_commit_time) noexcept;

struct TiebreakResult {
    ConflictWinner winner;  // Remote or Local
    bool unresolved;        // equal tiebreakers: the remote wins, and the caller warns
};

// Second step for equal commit times from different origins: the lower tiebreaker wins. The
// tiebreaker of a node is its info->>'tiebreaker', else its node id; local_tiebreaker is the
// applying node's.
TiebreakResult resolve_tiebreak(std::int64_t local_tiebreaker,
                                std::int64_t remote_tiebreaker) noexcept;

}  // namespace spock::core
