// The leader's bookkeeping of its apply processes: routing, commit order, the position to
// confirm, restart after a broken set.
#include "spock/core/apply_pool.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

Lsn at(std::uint64_t v) {
    return Lsn{v};
}

TEST(ApplyPool, RoutesToIdleProcessesThenWaits) {
    ApplyPool p(2, 1000);
    RouteDecision r = p.route(10);
    EXPECT_EQ(r.route, Route::Process);
    EXPECT_EQ(r.process, 0u);
    p.assign(0, 1, 1);
    r = p.route(10);
    EXPECT_EQ(r.route, Route::Process);
    EXPECT_EQ(r.process, 1u);
    p.assign(1, 2, 2);
    EXPECT_EQ(p.route(10).route, Route::WaitForIdle);
    EXPECT_EQ(p.in_flight(), 2u);
    EXPECT_EQ(p.route(1001).route, Route::Leader);  // too large, whatever the processes do
}

TEST(ApplyPool, CommitsInOrderAdvanceTheConfirmedPosition) {
    ApplyPool p(3, 1000);
    p.assign(0, 1, 1);
    p.assign(1, 2, 2);
    p.assign(2, 3, 3);
    EXPECT_FALSE(p.committed(1, 2, at(200)));  // 1 has not committed: out of order, refused
    EXPECT_EQ(p.confirmed(), Lsn{});
    EXPECT_TRUE(p.committed(0, 1, at(100)));
    EXPECT_EQ(p.confirmed(), at(100));
    EXPECT_TRUE(p.committed(1, 2, at(200)));
    EXPECT_EQ(p.confirmed(), at(200));
    EXPECT_EQ(p.route(1).process, 0u);  // process 0 is idle again
    p.assign(0, 4, 4);
    EXPECT_TRUE(p.committed(2, 3, at(300)));
    EXPECT_TRUE(p.committed(0, 4, at(400)));
    EXPECT_EQ(p.confirmed(), at(400));
    EXPECT_TRUE(p.all_idle());
}

TEST(ApplyPool, ABatchKeepsItsProcessBusyUntilItsLastCommit) {
    ApplyPool p(2, 1000);
    p.assign(0, 1, 3);  // transactions 1, 2 and 3 in one message
    EXPECT_EQ(p.in_flight(), 3u);
    p.assign(1, 4, 4);
    EXPECT_FALSE(p.committed(0, 2, at(200)));  // 1 first
    EXPECT_FALSE(p.committed(1, 4, at(400)));  // 1 to 3 first
    EXPECT_TRUE(p.committed(0, 1, at(100)));
    EXPECT_TRUE(p.committed(0, 2, at(200)));
    EXPECT_EQ(p.route(1).route, Route::WaitForIdle);  // 3 is still to commit
    EXPECT_TRUE(p.committed(0, 3, at(300)));
    EXPECT_EQ(p.route(1).process, 0u);
    EXPECT_TRUE(p.committed(1, 4, at(400)));
    EXPECT_EQ(p.confirmed(), at(400));
    EXPECT_TRUE(p.all_idle());
    p.assign(1, 7, 5);  // backwards range: ignored
    EXPECT_TRUE(p.all_idle());
}

TEST(ApplyPool, RefusesReportsThatDoNotMatch) {
    ApplyPool p(2, 1000);
    p.assign(0, 5, 5);
    EXPECT_FALSE(p.committed(1, 5, at(500)));  // not that process's
    EXPECT_FALSE(p.committed(0, 6, at(600)));  // not its transaction
    EXPECT_FALSE(p.committed(7, 5, at(500)));  // no such process
    EXPECT_FALSE(p.committed(0, 0, at(500)));
    p.assign(1, 4, 4);  // out of order hand-out: ignored
    EXPECT_EQ(p.in_flight(), 1u);
    EXPECT_FALSE(p.committed(1, 4, at(400)));
    EXPECT_TRUE(p.committed(0, 5, at(500)));
}

TEST(ApplyPool, ResetKeepsTheConfirmedPosition) {
    ApplyPool p(2, 1000);
    p.assign(0, 1, 1);
    p.assign(1, 2, 2);
    EXPECT_TRUE(p.committed(0, 1, at(100)));
    p.reset();  // process 1 died with transaction 2 uncommitted
    EXPECT_TRUE(p.all_idle());
    EXPECT_EQ(p.confirmed(), at(100));  // the stream restarts after transaction 1
    p.assign(1, 3, 3);                  // transaction 2 again, under a new number
    EXPECT_TRUE(p.committed(1, 3, at(200)));
    EXPECT_EQ(p.confirmed(), at(200));
}

TEST(ApplyPool, LeaderCommitsAdvanceToo) {
    ApplyPool p(1, 10);
    p.committed_by_leader(at(50));
    EXPECT_EQ(p.confirmed(), at(50));
    p.committed_by_leader(at(40));  // never backwards
    EXPECT_EQ(p.confirmed(), at(50));
}

// A batch striped over two processes: odd transactions to one, even to the other. Commits
// still come in order across them; each process is idle after its stripe's last commit.
TEST(ApplyPool, StripesInterleaveAndCommitInOrder) {
    ApplyPool p(3, 1000);
    std::uint32_t idle[3];
    ASSERT_EQ(p.idle(idle, 3), 3u);
    p.assign(0, 1, 5, 2);  // 1, 3, 5
    p.assign(1, 2, 4, 2);  // 2, 4
    EXPECT_EQ(p.in_flight(), 5u);
    ASSERT_EQ(p.idle(idle, 3), 1u);
    EXPECT_EQ(idle[0], 2u);
    p.assign(2, 3, 3);  // already in process 0's stripe: ignored
    EXPECT_EQ(p.in_flight(), 5u);
    EXPECT_FALSE(p.committed(1, 2, at(200)));  // 1 first
    EXPECT_TRUE(p.committed(0, 1, at(100)));
    EXPECT_FALSE(p.committed(0, 3, at(300)));  // 2 first
    EXPECT_TRUE(p.committed(1, 2, at(200)));
    EXPECT_TRUE(p.committed(0, 3, at(300)));
    EXPECT_TRUE(p.committed(1, 4, at(400)));
    EXPECT_EQ(p.idle(idle, 3), 2u);  // process 1 is done
    EXPECT_TRUE(p.committed(0, 5, at(500)));
    EXPECT_EQ(p.confirmed(), at(500));
    EXPECT_TRUE(p.all_idle());
    p.assign(0, 6, 9, 2);  // uneven range for the step: ignored
    EXPECT_TRUE(p.all_idle());
    p.assign(0, 6, 6, 0);  // no step: ignored
    EXPECT_TRUE(p.all_idle());
}

}  // namespace
