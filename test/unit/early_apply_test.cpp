// Early apply of streamed transactions: which changes are taken, when the worker falls back
// to the spool, and the state machine over blocks, subtransactions, aborts and commits.
#include "spock/core/early_apply.hpp"

#include <gtest/gtest.h>

namespace spock::core {
namespace {

using Step = EarlyApplyPlan::Step;

TEST(EarlyApplyRules, ChangesTaken) {
    EXPECT_EQ(early_change_rule(EarlyChange::Relation, false), EarlyFallback::None);
    EXPECT_EQ(early_change_rule(EarlyChange::Insert, false), EarlyFallback::None);
    EXPECT_EQ(early_change_rule(EarlyChange::Update, false), EarlyFallback::None);
    EXPECT_EQ(early_change_rule(EarlyChange::Delete, false), EarlyFallback::Unsupported);
    EXPECT_EQ(early_change_rule(EarlyChange::Truncate, false), EarlyFallback::Unsupported);
    EXPECT_EQ(early_change_rule(EarlyChange::Message, false), EarlyFallback::Unsupported);
    EXPECT_EQ(early_change_rule(EarlyChange::Insert, true), EarlyFallback::SpockTable);
    EXPECT_EQ(early_change_rule(EarlyChange::Update, true), EarlyFallback::SpockTable);
    EXPECT_EQ(early_change_rule(EarlyChange::Relation, true), EarlyFallback::None);
}

TEST(EarlyApplyRules, ConflictsAndCommit) {
    EXPECT_EQ(early_conflict_rule(), EarlyFallback::Conflict);
    EXPECT_EQ(early_commit_rule(true, false), EarlyFallback::None);
    EXPECT_EQ(early_commit_rule(false, false), EarlyFallback::CommitFields);
    EXPECT_EQ(early_commit_rule(true, true), EarlyFallback::CommitFields);
    for (int i = 0; i <= static_cast<int>(EarlyFallback::Deadlock); ++i) {
        EXPECT_NE(early_fallback_name(static_cast<EarlyFallback>(i)), "unknown");
    }
}

TEST(EarlyApplyPlanTest, CommitAfterBlocks) {
    EarlyApplyPlan p;
    EXPECT_EQ(p.on_stream_start(100, true, true), Step::Begin);
    EXPECT_EQ(p.on_change(EarlyChange::Relation, false), Step::Forward);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::Forward);
    EXPECT_EQ(p.on_stream_stop(), Step::Pause);
    EXPECT_EQ(p.on_stream_start(100, false, true), Step::Resume);
    EXPECT_EQ(p.on_change(EarlyChange::Update, false), Step::Forward);
    EXPECT_EQ(p.on_stream_stop(), Step::Pause);
    EXPECT_EQ(p.on_stream_commit(100, true, false), Step::Commit);
    EXPECT_FALSE(p.active());
    // The next stream may be early-applied again.
    EXPECT_EQ(p.on_stream_start(101, true, true), Step::Begin);
}

TEST(EarlyApplyPlanTest, SecondStreamOnlySpools) {
    EarlyApplyPlan p;
    EXPECT_EQ(p.on_stream_start(100, true, true), Step::Begin);
    EXPECT_EQ(p.on_stream_stop(), Step::Pause);
    EXPECT_EQ(p.on_stream_start(200, true, true), Step::None);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::None);
    EXPECT_EQ(p.on_stream_stop(), Step::None);
    EXPECT_EQ(p.on_stream_commit(200, true, false), Step::None);
    EXPECT_EQ(p.on_stream_abort(200, 200), Step::None);
    EXPECT_EQ(p.active(), 100u);
    EXPECT_EQ(p.on_stream_start(100, false, true), Step::Resume);
}

TEST(EarlyApplyPlanTest, NotAllowedSpools) {
    EarlyApplyPlan p;
    EXPECT_EQ(p.on_stream_start(100, true, false), Step::None);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::None);
    EXPECT_EQ(p.on_stream_commit(100, true, false), Step::None);
    // A later block of a transaction whose first block was not seen early: spool only.
    EXPECT_EQ(p.on_stream_start(300, false, true), Step::None);
}

TEST(EarlyApplyPlanTest, UnsupportedChangeFallsBackForGood) {
    EarlyApplyPlan p;
    p.on_stream_start(100, true, true);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::Forward);
    EXPECT_EQ(p.on_change(EarlyChange::Delete, false), Step::FallBack);
    EXPECT_EQ(p.last_fallback(), EarlyFallback::Unsupported);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::None);
    EXPECT_EQ(p.on_stream_stop(), Step::None);
    EXPECT_EQ(p.on_stream_start(100, false, true), Step::None);
    // Other streams still only spool while 100 is open: the process is taken.
    EXPECT_EQ(p.on_stream_start(200, true, true), Step::None);
    EXPECT_EQ(p.on_stream_stop(), Step::None);
    EXPECT_EQ(p.on_stream_commit(100, true, false), Step::FromSpool);
    EXPECT_FALSE(p.active());
}

TEST(EarlyApplyPlanTest, ProcessFailure) {
    EarlyApplyPlan p;
    EXPECT_FALSE(p.fail(EarlyFallback::ProcessGone));  // nothing early-applied
    p.on_stream_start(100, true, true);
    EXPECT_TRUE(p.fail(EarlyFallback::ProcessError));
    EXPECT_FALSE(p.fail(EarlyFallback::ProcessError));  // once
    EXPECT_EQ(p.last_fallback(), EarlyFallback::ProcessError);
    EXPECT_EQ(p.on_change(EarlyChange::Insert, false), Step::None);
    EXPECT_EQ(p.on_stream_commit(100, true, false), Step::FromSpool);
}

TEST(EarlyApplyPlanTest, CommitFieldsFallBack) {
    EarlyApplyPlan p;
    p.on_stream_start(100, true, true);
    p.on_stream_stop();
    EXPECT_EQ(p.on_stream_commit(100, false, false), Step::FallBack);
    EXPECT_EQ(p.last_fallback(), EarlyFallback::CommitFields);
    p.on_stream_start(101, true, true);
    p.on_stream_stop();
    EXPECT_EQ(p.on_stream_commit(101, true, true), Step::FallBack);
}

TEST(EarlyApplyPlanTest, Aborts) {
    EarlyApplyPlan p;
    p.on_stream_start(100, true, true);
    EXPECT_EQ(p.on_stream_xid(101), Step::Subxact);
    EXPECT_EQ(p.on_stream_xid(101), Step::None);  // same one again
    EXPECT_EQ(p.on_stream_xid(100), Step::None);  // back to the top level
    EXPECT_EQ(p.on_stream_xid(102), Step::Subxact);
    p.on_stream_stop();
    EXPECT_EQ(p.on_stream_abort(100, 101), Step::RollbackSubxact);
    EXPECT_EQ(p.on_stream_abort(999, 999), Step::None);  // another transaction
    EXPECT_EQ(p.on_stream_abort(100, 100), Step::Rollback);
    EXPECT_FALSE(p.active());
    EXPECT_EQ(p.on_stream_start(103, true, true), Step::Begin);
}

TEST(EarlyApplyPlanTest, TooManySubxacts) {
    EarlyApplyPlan p;
    p.on_stream_start(1, true, true);
    for (std::size_t i = 0; i < kMaxEarlySubxacts; ++i) {
        ASSERT_EQ(p.on_stream_xid(static_cast<TransactionId>(10 + i)), Step::Subxact);
    }
    EXPECT_EQ(p.on_stream_xid(5), Step::FallBack);
    EXPECT_EQ(p.last_fallback(), EarlyFallback::TooManySubxacts);
}

TEST(EarlyApplyPlanTest, FirstBlockAgainStartsOver) {
    EarlyApplyPlan p;
    p.on_stream_start(100, true, true);
    p.on_stream_stop();
    // The same xid's first block again (the provider restarted it): roll back, and the
    // transaction only spools from there on.
    EXPECT_EQ(p.on_stream_start(100, true, true), Step::FallBack);
    EXPECT_FALSE(p.active());
    p.on_stream_stop();
    EXPECT_EQ(p.on_stream_start(100, true, true), Step::Begin);
}

}  // namespace
}  // namespace spock::core
