// How buffered remote INSERTs are written (include/spock/core/insert_batch.hpp).
#include "spock/core/insert_batch.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(InsertBatch, NothingToArbitrateIsAPlainMultiInsert) {
    EXPECT_EQ(choose_batch_write(1000, false, true, 0), BatchWrite::MultiInsert);
    EXPECT_EQ(choose_batch_write(1, false, true, 3), BatchWrite::MultiInsert);
}

TEST(InsertBatch, TransactionCallbacksCannotResolve) {
    EXPECT_EQ(choose_batch_write(1000, true, false, 0), BatchWrite::MultiInsert);
    EXPECT_EQ(choose_batch_write(2, true, false, 2), BatchWrite::MultiInsert);
}

TEST(InsertBatch, LongRunsAreGuardedShortRunsSpeculative) {
    EXPECT_EQ(choose_batch_write(kMinGuardedBatchRows, true, true, 0),
              BatchWrite::GuardedMultiInsert);
    EXPECT_EQ(choose_batch_write(1000, true, true, 0), BatchWrite::GuardedMultiInsert);
    EXPECT_EQ(choose_batch_write(kMinGuardedBatchRows - 1, true, true, 0), BatchWrite::Speculative);
    EXPECT_EQ(choose_batch_write(1, true, true, 0), BatchWrite::Speculative);
}

TEST(InsertBatch, AfterACollisionSomeRunsGoSpeculative) {
    int left = collision_backoff(BatchWrite::GuardedMultiInsert, true, 0);
    EXPECT_EQ(left, kSpeculativeRunsAfterCollision);
    for (int i = 0; i < kSpeculativeRunsAfterCollision; i++) {
        BatchWrite how = choose_batch_write(1000, true, true, left);
        EXPECT_EQ(how, BatchWrite::Speculative);
        left = collision_backoff(how, false, left);
    }
    EXPECT_EQ(left, 0);
    EXPECT_EQ(choose_batch_write(1000, true, true, left), BatchWrite::GuardedMultiInsert);
}

TEST(InsertBatch, ACollisionDuringBackoffStartsItAgain) {
    EXPECT_EQ(collision_backoff(BatchWrite::Speculative, true, 1), kSpeculativeRunsAfterCollision);
    EXPECT_EQ(collision_backoff(BatchWrite::GuardedMultiInsert, false, 0), 0);
    EXPECT_EQ(collision_backoff(BatchWrite::MultiInsert, false, 2), 2);
}

TEST(InsertBatch, RowsAreNotLookedUpWhileTheTableMeetsNoExistingKey) {
    // With an arbiter every run is written speculatively or guarded, both meet an existing key.
    EXPECT_TRUE(defer_key_lookup(true, false, 0));
    // Without an arbiter the run is a plain multi-insert: an existing key would raise.
    EXPECT_FALSE(defer_key_lookup(false, false, 0));
    // In a subtransaction (replay) the run is written from the callbacks, which cannot resolve.
    EXPECT_FALSE(defer_key_lookup(true, true, 0));
    // After a run met an existing key the rows are looked up again for a while.
    EXPECT_FALSE(defer_key_lookup(true, false, 1));
}

TEST(InsertBatch, AnExistingKeyTurnsLookupsOnForSomeRuns) {
    int left = lookup_backoff(true, 0);
    EXPECT_EQ(left, kLookupRunsAfterCollision);
    for (int i = 0; i < kLookupRunsAfterCollision; i++) {
        EXPECT_FALSE(defer_key_lookup(true, false, left)) << i;
        left = lookup_backoff(false, left);
    }
    EXPECT_EQ(left, 0);
    EXPECT_TRUE(defer_key_lookup(true, false, left));
    // Meeting one again while looking up starts the count again.
    EXPECT_EQ(lookup_backoff(true, 5), kLookupRunsAfterCollision);
    EXPECT_EQ(lookup_backoff(false, 0), 0);
    EXPECT_EQ(lookup_backoff(false, -3), 0);
}

}  // namespace
