// TRUNCATE in a mesh: which changes and rows a TRUNCATE removes (docs/conflicts.md).
#include "spock/core/truncate_horizon.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(TruncateHorizon, OlderChangesGoNewerStay) {
    TruncateHorizon h{TimestampUs{1000}};
    EXPECT_EQ(order_against_truncate(h, true, TimestampUs{999}), TruncateOrder::Before);
    EXPECT_EQ(order_against_truncate(h, true, TimestampUs{-5}), TruncateOrder::Before);
    EXPECT_EQ(order_against_truncate(h, true, TimestampUs{1001}), TruncateOrder::After);
    EXPECT_EQ(order_against_truncate(h, true, TimestampUs{1000}), TruncateOrder::NeedTiebreak);
}

TEST(TruncateHorizon, UnknownCommitTimeIsOlder) {
    TruncateHorizon h{TimestampUs{1000}};
    EXPECT_EQ(order_against_truncate(h, false, TimestampUs{5000}), TruncateOrder::Before);
}

TEST(TruncateHorizon, TiebreakLowerWins) {
    EXPECT_EQ(truncate_tiebreak(1, 2), TruncateOrder::Before);
    EXPECT_EQ(truncate_tiebreak(2, 1), TruncateOrder::After);
    EXPECT_EQ(truncate_tiebreak(7, 7), TruncateOrder::After);
}

TEST(TruncateHorizon, OnlyALaterTruncateAdvances) {
    TruncateHorizon cur{TimestampUs{1000}};
    EXPECT_TRUE(horizon_advances(false, cur, TruncateHorizon{TimestampUs{1}}));
    EXPECT_TRUE(horizon_advances(true, cur, TruncateHorizon{TimestampUs{1001}}));
    EXPECT_FALSE(horizon_advances(true, cur, TruncateHorizon{TimestampUs{1000}}));
    EXPECT_FALSE(horizon_advances(true, cur, TruncateHorizon{TimestampUs{999}}));
}

}  // namespace
