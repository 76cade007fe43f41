// The apply worker's spock.progress row: lag_tracker must never see negative lag bytes.
#include "spock/core/progress_row.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(ProgressRow, CommitThenIdle) {
    // A commit ending at 100, while the provider had written up to 150.
    ProgressWrite w = progress_write(100, 150, 0, 0);
    EXPECT_TRUE(w.write);
    EXPECT_TRUE(w.by_decode);
    EXPECT_EQ(w.lsn, 100u);
    EXPECT_EQ(w.insert_lsn, 150u);
    // Nothing new: nothing written.
    EXPECT_FALSE(progress_write(100, 150, 0, 100).write);
    // A keepalive says everything up to 200 is applied (the provider wrote WAL nobody
    // replicates): the row moves to 200, not by decode.
    w = progress_write(100, 150, 200, 100);
    EXPECT_TRUE(w.write);
    EXPECT_FALSE(w.by_decode);
    EXPECT_EQ(w.lsn, 200u);
    EXPECT_EQ(w.insert_lsn, 200u);
}

// The stalled-subscription case: after the idle write at 200 the old commit (100, insert 150)
// must not be written again as "by decode": its insert position is behind the row's
// remote_lsn, which lag_tracker showed as negative lag bytes.
TEST(ProgressRow, OldCommitIsNotWrittenAfterIdle) {
    EXPECT_FALSE(progress_write(100, 150, 200, 200).write);
    // The next commit after that is written, with lag bytes >= 0.
    ProgressWrite w = progress_write(300, 280, 200, 200);
    EXPECT_TRUE(w.write);
    EXPECT_TRUE(w.by_decode);
    EXPECT_EQ(w.lsn, 300u);
    EXPECT_GE(w.insert_lsn, w.lsn);
}

TEST(ProgressRow, NothingKnownYet) {
    EXPECT_FALSE(progress_write(0, 0, 0, 0).write);
    ProgressWrite w = progress_write(0, 0, 50, 0);
    EXPECT_TRUE(w.write);
    EXPECT_FALSE(w.by_decode);
}

TEST(ProgressRow, InsertPositionNeverBelowLsn) {
    for (std::uint64_t insert : {0u, 10u, 99u, 100u, 101u}) {
        ProgressWrite w = progress_write(100, insert, 0, 0);
        EXPECT_GE(w.insert_lsn, w.lsn);
    }
}

// Two idle nodes: each idle write moves the other's caught-up position. After the first idle
// write, the next waits kIdleProgressIntervalMs, so the pair does not write once a second.
TEST(ProgressRow, IdleWritesAreSpacedOut) {
    // Caught up after a commit: written at once, whatever the time since the commit's write.
    ProgressWrite w = progress_write(100, 150, 200, 100, false, 0);
    EXPECT_TRUE(w.write);
    EXPECT_FALSE(w.by_decode);
    // The provider's WAL moved again (its own progress row): not yet.
    EXPECT_FALSE(progress_write(100, 150, 260, 200, true, 1000).write);
    EXPECT_FALSE(progress_write(100, 150, 260, 200, true, kIdleProgressIntervalMs - 1).write);
    w = progress_write(100, 150, 260, 200, true, kIdleProgressIntervalMs);
    EXPECT_TRUE(w.write);
    EXPECT_EQ(w.lsn, 260u);
    // A commit is never held back by the idle interval.
    w = progress_write(300, 320, 260, 260, true, 0);
    EXPECT_TRUE(w.write);
    EXPECT_TRUE(w.by_decode);
}

}  // namespace
