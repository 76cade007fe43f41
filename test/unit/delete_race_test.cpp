// Races between apply workers over the record of deleted keys (docs/conflicts.md).
#include "spock/core/delete_race.hpp"

#include <gtest/gtest.h>

namespace {

using namespace spock::core;

TEST(DeleteRace, RecheckSteps) {
    EXPECT_EQ(recheck_step(RecordedDelete::None), RecheckStep::Keep);
    EXPECT_EQ(recheck_step(RecordedDelete::Own), RecheckStep::Keep);
    // A delete still in progress may commit: the inserting worker must wait for it.
    EXPECT_EQ(recheck_step(RecordedDelete::InProgress), RecheckStep::WaitForDeleter);
    EXPECT_EQ(recheck_step(RecordedDelete::Aborted), RecheckStep::Forget);
    EXPECT_EQ(recheck_step(RecordedDelete::Committed), RecheckStep::Decide);
}

TEST(DeleteRace, LaterDeleteTakesTheWrittenRowBack) {
    for (ConflictPolicy p : {ConflictPolicy::LastUpdateWins, ConflictPolicy::FirstUpdateWins,
                             ConflictPolicy::KeepLocal}) {
        WrittenInsertDecision d = decide_insert_written(p, false, DeleteOrder::DeleteLater);
        EXPECT_TRUE(d.report);
        EXPECT_TRUE(d.take_back);
        EXPECT_NE(d.action, MissingRowAction::Insert);
        EXPECT_NE(d.action, MissingRowAction::Error);
    }
}

TEST(DeleteRace, ApplyRemoteKeepsTheRowButReports) {
    WrittenInsertDecision d =
        decide_insert_written(ConflictPolicy::ApplyRemote, false, DeleteOrder::DeleteLater);
    EXPECT_TRUE(d.report);
    EXPECT_FALSE(d.take_back);
    EXPECT_EQ(d.action, MissingRowAction::Insert);
}

TEST(DeleteRace, ErrorPolicyRaises) {
    WrittenInsertDecision d =
        decide_insert_written(ConflictPolicy::Error, false, DeleteOrder::DeleteLater);
    EXPECT_TRUE(d.report);
    EXPECT_FALSE(d.take_back);  // the error rolls the row back with the transaction
    EXPECT_EQ(d.action, MissingRowAction::Error);
}

TEST(DeleteRace, EarlierDeleteIsNoConflict) {
    for (ConflictPolicy p :
         {ConflictPolicy::LastUpdateWins, ConflictPolicy::FirstUpdateWins,
          ConflictPolicy::KeepLocal, ConflictPolicy::ApplyRemote, ConflictPolicy::Error}) {
        WrittenInsertDecision d = decide_insert_written(p, false, DeleteOrder::DeleteEarlier);
        EXPECT_FALSE(d.report);
        EXPECT_FALSE(d.take_back);
        EXPECT_EQ(d.action, MissingRowAction::Insert);
    }
}

TEST(DeleteRace, ReportedBeforeTheWriteCountsOnce) {
    for (ConflictPolicy p : {ConflictPolicy::ApplyRemote, ConflictPolicy::LastUpdateWins}) {
        WrittenInsertDecision d = decide_insert_written(p, true, DeleteOrder::DeleteLater);
        EXPECT_FALSE(d.report);
        EXPECT_FALSE(d.take_back);
    }
}

}  // namespace
