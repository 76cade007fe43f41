// Conflict resolution decisions (reference §6.6).
#include "spock/core/conflict_policy.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

LocalRowState row_at(std::int64_t ts, bool same_origin = false) {
    LocalRowState s;
    s.commit_time = TimestampUs{ts};
    s.same_origin_as_remote = same_origin;
    return s;
}

TEST(ConflictPolicy, FixedPoliciesIgnoreTimes) {
    for (std::int64_t remote : {0, 100, 200}) {
        EXPECT_EQ(resolve_conflict(ConflictPolicy::Error, row_at(100), TimestampUs{remote}),
                  ConflictWinner::Error);
        EXPECT_EQ(resolve_conflict(ConflictPolicy::ApplyRemote, row_at(100), TimestampUs{remote}),
                  ConflictWinner::Remote);
        EXPECT_EQ(resolve_conflict(ConflictPolicy::KeepLocal, row_at(100), TimestampUs{remote}),
                  ConflictWinner::Local);
    }
}

TEST(ConflictPolicy, LastUpdateWinsComparesCommitTimes) {
    EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, row_at(100), TimestampUs{101}),
              ConflictWinner::Remote);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, row_at(100), TimestampUs{99}),
              ConflictWinner::Local);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, row_at(100, true), TimestampUs{100}),
              ConflictWinner::Remote);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, row_at(100), TimestampUs{100}),
              ConflictWinner::NeedTiebreak);
}

TEST(ConflictPolicy, FirstUpdateWinsIsTheMirror) {
    EXPECT_EQ(resolve_conflict(ConflictPolicy::FirstUpdateWins, row_at(100), TimestampUs{101}),
              ConflictWinner::Local);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::FirstUpdateWins, row_at(100), TimestampUs{99}),
              ConflictWinner::Remote);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::FirstUpdateWins, row_at(100), TimestampUs{100}),
              ConflictWinner::NeedTiebreak);
}

TEST(ConflictPolicy, OwnRowsLoseUnderTimePolicies) {
    LocalRowState own = row_at(1000);
    own.written_by_current_transaction = true;
    for (auto p : {ConflictPolicy::LastUpdateWins, ConflictPolicy::FirstUpdateWins}) {
        EXPECT_EQ(resolve_conflict(p, own, TimestampUs{1}), ConflictWinner::Remote);
    }
    EXPECT_EQ(resolve_conflict(ConflictPolicy::KeepLocal, own, TimestampUs{1}),
              ConflictWinner::Local);
}

// A frozen row (no commit time) is the oldest row there is: last_update_wins lets the remote
// change replace it, first_update_wins keeps it, whatever the remote commit time.
TEST(ConflictPolicy, FrozenRowsAreTheOldest) {
    LocalRowState frozen;
    frozen.frozen_or_unknown = true;
    for (std::int64_t remote : {std::int64_t{-1}, std::int64_t{0}, std::int64_t{1000000}}) {
        EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, frozen, TimestampUs{remote}),
                  ConflictWinner::Remote);
        EXPECT_EQ(resolve_conflict(ConflictPolicy::FirstUpdateWins, frozen, TimestampUs{remote}),
                  ConflictWinner::Local);
    }
    EXPECT_EQ(resolve_conflict(ConflictPolicy::ApplyRemote, frozen, TimestampUs{1}),
              ConflictWinner::Remote);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::KeepLocal, frozen, TimestampUs{1}),
              ConflictWinner::Local);
}

TEST(ConflictPolicy, LowerTiebreakerWins) {
    EXPECT_EQ(resolve_tiebreak(1, 2).winner, ConflictWinner::Local);
    EXPECT_FALSE(resolve_tiebreak(1, 2).unresolved);
    EXPECT_EQ(resolve_tiebreak(2, 1).winner, ConflictWinner::Remote);
    EXPECT_FALSE(resolve_tiebreak(2, 1).unresolved);
    EXPECT_EQ(resolve_tiebreak(5, 5).winner, ConflictWinner::Remote);
    EXPECT_TRUE(resolve_tiebreak(5, 5).unresolved);
}

}  // namespace
