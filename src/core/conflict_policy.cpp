#include "spock/core/conflict_policy.hpp"

namespace spock::core {

ConflictWinner resolve_conflict(ConflictPolicy policy, const LocalRowState& local,
                                TimestampUs remote_commit_time) noexcept {
    switch (policy) {
        case ConflictPolicy::Error:
            return ConflictWinner::Error;
        case ConflictPolicy::ApplyRemote:
            return ConflictWinner::Remote;
        case ConflictPolicy::KeepLocal:
            return ConflictWinner::Local;
        case ConflictPolicy::LastUpdateWins:
        case ConflictPolicy::FirstUpdateWins:
            break;
    }
    // An earlier change of this same remote transaction is simply superseded.
    if (local.written_by_current_transaction) {
        return ConflictWinner::Remote;
    }
    const bool last = policy == ConflictPolicy::LastUpdateWins;
    // A row with no recorded commit time (frozen, or written before track_commit_timestamp was
    // on) predates anything we can compare with: it is the oldest, so the newer remote change
    // wins under last_update_wins and the local row wins under first_update_wins.
    if (local.frozen_or_unknown) {
        return last ? ConflictWinner::Remote : ConflictWinner::Local;
    }
    if (remote_commit_time > local.commit_time) {
        return last ? ConflictWinner::Remote : ConflictWinner::Local;
    }
    if (remote_commit_time < local.commit_time) {
        return last ? ConflictWinner::Local : ConflictWinner::Remote;
    }
    if (local.same_origin_as_remote) {
        return ConflictWinner::Remote;
    }
    return ConflictWinner::NeedTiebreak;
}

TiebreakResult resolve_tiebreak(std::int64_t local_tiebreaker,
                                std::int64_t remote_tiebreaker) noexcept {
    if (local_tiebreaker < remote_tiebreaker) {
        return {ConflictWinner::Local, false};
    }
    if (remote_tiebreaker < local_tiebreaker) {
        return {ConflictWinner::Remote, false};
    }
    return {ConflictWinner::Remote, true};
}

}  // namespace spock::core
