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

}  // namespace
