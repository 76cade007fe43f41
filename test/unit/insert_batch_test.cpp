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

TEST(InsertBatch, TheFirstRowsOfARunAreLookedUpOnlyIfItIsGuarded) {
    // Every row of a run that can only be written speculatively skips its lookup...
    for (int i = 0; i < kMinGuardedBatchRows - 1; i++) {
        EXPECT_TRUE(defer_key_lookup(i, true, false)) << i;
    }
    // ...and from the row that makes the run long enough for a guarded multi-insert on, every
    // row is looked up as it arrives (the deferred ones then too, before the run is written).
    EXPECT_FALSE(defer_key_lookup(kMinGuardedBatchRows - 1, true, false));
    EXPECT_FALSE(defer_key_lookup(999, true, false));
    EXPECT_EQ(choose_batch_write(kMinGuardedBatchRows - 1, true, true, 0), BatchWrite::Speculative);
}

TEST(InsertBatch, LookupsAreNotDeferredWithoutAnArbiterOrInASubtransaction) {
    // Without an arbiter the run is a plain multi-insert: an existing key would raise.
    EXPECT_FALSE(defer_key_lookup(0, false, false));
    // In a subtransaction (replay) the run is written from the callbacks, which cannot resolve.
    EXPECT_FALSE(defer_key_lookup(0, true, true));
    EXPECT_FALSE(defer_key_lookup(-1, true, false));
}

}  // namespace
