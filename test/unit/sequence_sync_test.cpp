// Sequence sync decisions: margin, forward-only, residue kept, bounds, descending sequences.
#include <gtest/gtest.h>

#include "spock/core/sequence_sync.hpp"

using spock::core::periodic_sync_due;
using spock::core::sequence_forward_target;
using spock::core::sequence_high_water;
using spock::core::SequenceShape;
using spock::core::shipped_sequence_value;

TEST(SequenceSync, ShipsLastValuePlusMarginSteps) {
    EXPECT_EQ(shipped_sequence_value(100, 1000, {}), 1100);
    EXPECT_EQ(shipped_sequence_value(100, 1000, {3, 1, INT64_MAX}), 3100);
    EXPECT_EQ(shipped_sequence_value(100, -5, {}), 100);
}

TEST(SequenceSync, ShippedValueClampedToBounds) {
    EXPECT_EQ(shipped_sequence_value(INT64_MAX - 10, 1000, {}), INT64_MAX);
    EXPECT_EQ(shipped_sequence_value(50, 1000, {1, 1, 500}), 500);
    EXPECT_EQ(shipped_sequence_value(-100, 1000, {-1, INT64_MIN, -1}), -1100);
    EXPECT_EQ(shipped_sequence_value(INT64_MIN + 5, 1000, {-1, INT64_MIN, -1}), INT64_MIN);
}

TEST(SequenceSync, NeverBackwards) {
    // Local sequence already beyond the remote value: nothing to do.
    EXPECT_FALSE(sequence_forward_target(5000, true, 1100, {}).has_value());
    EXPECT_FALSE(sequence_forward_target(1100, true, 1100, {}).has_value());
    // Local next value (not yet called) is beyond: nothing either.
    EXPECT_FALSE(sequence_forward_target(1101, false, 1100, {}).has_value());
}

TEST(SequenceSync, MovesForwardToRemoteValue) {
    EXPECT_EQ(sequence_forward_target(10, true, 1100, {}), 1100);
    // Never used (is_called false at its start value 1): the next value would be 1.
    EXPECT_EQ(sequence_forward_target(1, false, 1100, {}), 1100);
    // Next value equal to the remote one: it must still move past it.
    EXPECT_EQ(sequence_forward_target(1100, false, 1100, {}), 1100);
}

TEST(SequenceSync, KeepsLocalResidueForStepOffsetSchemes) {
    // Node 1 of 3 hands out 1, 4, 7, ...; the remote value 1100 belongs to node 3.
    SequenceShape step3{3, 1, INT64_MAX};
    auto t = sequence_forward_target(7, true, 1100, step3);
    ASSERT_TRUE(t.has_value());
    EXPECT_GE(*t, 1100);
    EXPECT_EQ((*t - 7) % 3, 0);
    EXPECT_EQ(*t, 1102);
    // Already on the residue (2, 5, 8, ... and 1100).
    EXPECT_EQ(sequence_forward_target(2, true, 1100, {3, 1, INT64_MAX}), 1100);
    EXPECT_EQ(sequence_forward_target(1, true, 1000, {3, 1, INT64_MAX}), 1000);
}

TEST(SequenceSync, ForwardTargetClampedToMax) {
    EXPECT_EQ(sequence_forward_target(10, true, 1100, {1, 1, 500}), 500);
    EXPECT_FALSE(sequence_forward_target(500, true, 1100, {1, 1, 500}).has_value());
    EXPECT_EQ(sequence_forward_target(INT64_MAX - 7, true, INT64_MAX, {5, 1, INT64_MAX}),
              INT64_MAX);
}

TEST(SequenceSync, DescendingSequencesMoveDown) {
    SequenceShape down{-1, INT64_MIN, -1};
    EXPECT_EQ(sequence_forward_target(-10, true, -1100, down), -1100);
    EXPECT_FALSE(sequence_forward_target(-5000, true, -1100, down).has_value());
    SequenceShape down2{-2, -1000000, -1};
    EXPECT_EQ(sequence_forward_target(-1, true, -100, down2), -101);
    EXPECT_TRUE(periodic_sync_due(-20, -10, down));
    EXPECT_FALSE(periodic_sync_due(-5, -10, down));
    EXPECT_EQ(sequence_high_water(-10, -20, down), -20);
    EXPECT_EQ(sequence_high_water(-10, -5, down), -10);
}

TEST(SequenceSync, PeriodicSyncOnlyWhenBeyondHighWater) {
    // Shipped 1100 while at 100: nothing more until the sequence passes 1100.
    EXPECT_FALSE(periodic_sync_due(100, 1100, {}));
    EXPECT_FALSE(periodic_sync_due(1100, 1100, {}));
    EXPECT_TRUE(periodic_sync_due(1101, 1100, {}));
    EXPECT_TRUE(periodic_sync_due(1, std::nullopt, {}));
}

TEST(SequenceSync, ReceivedValueIsNotShippedBack) {
    // Node B receives 1100 and moves to it; its mark becomes 1100, so its periodic pass is
    // quiet until B itself hands out values beyond it.
    SequenceShape s;
    auto target = sequence_forward_target(7, true, 1100, s);
    ASSERT_TRUE(target.has_value());
    std::int64_t mark = sequence_high_water(7, *target, s);
    EXPECT_FALSE(periodic_sync_due(*target, mark, s));
    EXPECT_TRUE(periodic_sync_due(*target + 1, mark, s));
}

TEST(SequenceSync, OwnUnshippedAdvanceSurvivesAReceipt) {
    // Seen in a three-node run: n3 handed out keys up to 38184 (mark 35000, not shipped yet),
    // then received 40852 from n1 and moved to 40854. Had the mark become 40854, n3 would
    // never ship, and n1 would stay below the keys n3 used. The old mark stays instead.
    SequenceShape step3{3, 1, INT64_MAX};
    auto mark = spock::core::sequence_mark_after_receipt(38184, 35000, 40854, step3);
    EXPECT_EQ(mark, 35000);
    EXPECT_TRUE(periodic_sync_due(40854, *mark, step3));
    // Nothing unshipped here: the mark follows the received value (no ping-pong).
    EXPECT_EQ(spock::core::sequence_mark_after_receipt(34000, 35000, 40854, step3), 40854);
    EXPECT_EQ(spock::core::sequence_mark_after_receipt(35000, 35000, 40854, step3), 40854);
    // No mark yet: the received value.
    EXPECT_EQ(spock::core::sequence_mark_after_receipt(5, std::nullopt, 1100, {}), 1100);
}

TEST(SequenceSync, HighWaterOnlyGrows) {
    EXPECT_EQ(sequence_high_water(std::nullopt, 5, {}), 5);
    EXPECT_EQ(sequence_high_water(10, 5, {}), 10);
    EXPECT_EQ(sequence_high_water(10, 15, {}), 15);
}
