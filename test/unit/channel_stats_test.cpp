// Per-table apply counters: per-transaction accumulation and the shared table's capacity.
#include "spock/core/channel_stats.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(ChannelStats, PendingAccumulatesPerTable) {
    ChannelPending p;
    EXPECT_TRUE(p.empty());
    p.add(10, ChannelCounter::Insert);
    p.add(10, ChannelCounter::Insert);
    p.add(20, ChannelCounter::Update);
    p.add(10, ChannelCounter::Delete);
    p.add(20, ChannelCounter::Conflict, 3);
    p.add(20, ChannelCounter::Delta, 0);  // nothing to add: no entry is made for it
    p.add(30, ChannelCounter::Conflict, 0);
    ASSERT_EQ(p.entries().size(), 2u);
    EXPECT_EQ(p.entries()[0].relid, 10u);
    EXPECT_EQ(p.entries()[0].counts.get(ChannelCounter::Insert), 2u);
    EXPECT_EQ(p.entries()[0].counts.get(ChannelCounter::Update), 0u);
    EXPECT_EQ(p.entries()[0].counts.get(ChannelCounter::Delete), 1u);
    EXPECT_EQ(p.entries()[1].relid, 20u);
    EXPECT_EQ(p.entries()[1].counts.get(ChannelCounter::Update), 1u);
    EXPECT_EQ(p.entries()[1].counts.get(ChannelCounter::Conflict), 3u);
    EXPECT_EQ(p.entries()[1].counts.get(ChannelCounter::Delta), 0u);
    p.clear();
    EXPECT_TRUE(p.empty());
}

// Deletes have a column of their own (Spock 5 adds them to n_tup_upd).
TEST(ChannelStats, DeletesAreNotUpdates) {
    ChannelCounts c;
    c.add(ChannelCounter::Delete);
    EXPECT_EQ(c.get(ChannelCounter::Delete), 1u);
    EXPECT_EQ(c.get(ChannelCounter::Update), 0u);
    EXPECT_EQ(c.n[2], 1u);  // n_tup_del is the third column
}

TEST(ChannelStats, CountsAdd) {
    ChannelCounts a;
    ChannelCounts b;
    EXPECT_FALSE(a.any());
    b.add(ChannelCounter::Insert, 5);
    b.add(ChannelCounter::Delta, 2);
    a.add(b);
    a.add(b);
    EXPECT_TRUE(a.any());
    EXPECT_EQ(a.get(ChannelCounter::Insert), 10u);
    EXPECT_EQ(a.get(ChannelCounter::Delta), 4u);
}

TEST(ChannelStats, Capacity) {
    EXPECT_EQ(channel_stats_capacity(-1, 8), 8000);
    EXPECT_EQ(channel_stats_capacity(-1, 16), 16000);
    EXPECT_EQ(channel_stats_capacity(5, 16), 5);
    EXPECT_EQ(channel_stats_capacity(0, 16), 0);
    EXPECT_EQ(channel_stats_capacity(2147483647, 8), 2147483647);
}

}  // namespace
