// Parallel apply: a transaction that ends the set twice in a row is applied by the leader.
#include "spock/core/apply_failures.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(SetFailure, TwiceInARowOnTheSameTransactionGoesToTheLeader) {
    SetFailure f;
    EXPECT_FALSE(apply_in_leader(f, Lsn{100}));
    f = record_set_failure(f, Lsn{100});
    EXPECT_EQ(f.count, 1u);
    EXPECT_FALSE(apply_in_leader(f, Lsn{100}));  // once may be bad luck
    f = record_set_failure(f, Lsn{100});
    EXPECT_EQ(f.count, 2u);
    EXPECT_TRUE(apply_in_leader(f, Lsn{100}));
    EXPECT_FALSE(apply_in_leader(f, Lsn{200}));  // only that transaction
}

TEST(SetFailure, AnotherTransactionStartsTheCountAgain) {
    SetFailure f = record_set_failure(SetFailure{}, Lsn{100});
    f = record_set_failure(f, Lsn{300});
    EXPECT_EQ(f.end_lsn, Lsn{300});
    EXPECT_EQ(f.count, 1u);
    EXPECT_FALSE(apply_in_leader(f, Lsn{100}));
    EXPECT_FALSE(apply_in_leader(f, Lsn{300}));
}

TEST(SetFailure, ACommitAtOrPastItClearsTheRecord) {
    SetFailure f = record_set_failure(record_set_failure(SetFailure{}, Lsn{100}), Lsn{100});
    EXPECT_EQ(after_commit(f, Lsn{50}).count, 2u);  // an earlier one: still to come
    EXPECT_EQ(after_commit(f, Lsn{100}).count, 0u);
    EXPECT_FALSE(after_commit(f, Lsn{150}).end_lsn.is_valid());
    EXPECT_FALSE(apply_in_leader(SetFailure{}, Lsn{}));  // nothing recorded
}

// A failure that alternates between two transactions never counts twice on one; after three set
// failures in a row with no commit reaching the newest of them, the leader applies everything
// up to it itself, then hands out again.
TEST(SetFailure, AStreakOnAlternatingTransactionsGoesSerialUpToTheNewest) {
    SetFailure f;
    f = record_set_failure(f, Lsn{300});  // B
    f = after_commit(f, Lsn{100});        // the restart commits what comes before A and B
    f = record_set_failure(f, Lsn{200});  // A
    f = after_commit(f, Lsn{100});
    EXPECT_EQ(f.streak, 2u);
    EXPECT_FALSE(apply_in_leader(f, Lsn{200}));
    EXPECT_FALSE(apply_in_leader(f, Lsn{300}));
    f = record_set_failure(f, Lsn{300});  // B again
    EXPECT_EQ(f.count, 1u);               // not twice in a row on one
    EXPECT_EQ(f.streak, 3u);
    EXPECT_EQ(f.until, Lsn{300});
    EXPECT_TRUE(apply_in_leader(f, Lsn{150}));
    EXPECT_TRUE(apply_in_leader(f, Lsn{200}));
    EXPECT_TRUE(apply_in_leader(f, Lsn{300}));
    EXPECT_FALSE(apply_in_leader(f, Lsn{301}));  // past the newest: parallel again
    f = after_commit(f, Lsn{200});
    EXPECT_EQ(f.streak, 3u);  // still short of 300
    EXPECT_TRUE(apply_in_leader(f, Lsn{300}));
    f = after_commit(f, Lsn{300});
    EXPECT_EQ(f, SetFailure{});
    EXPECT_FALSE(apply_in_leader(f, Lsn{300}));
}

TEST(SetFailure, ACommitPastEveryFailureEndsTheStreak) {
    SetFailure f = record_set_failure(SetFailure{}, Lsn{100});
    f = after_commit(f, Lsn{150});  // progress past it
    EXPECT_EQ(f.streak, 0u);
    f = record_set_failure(f, Lsn{400});
    f = record_set_failure(f, Lsn{500});
    EXPECT_EQ(f.streak, 2u);  // the one before the progress does not count
    EXPECT_FALSE(apply_in_leader(f, Lsn{450}));
}

}  // namespace
