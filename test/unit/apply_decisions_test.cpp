// Pure decisions of the apply worker: origin names, flush positions, skips, exception policy.
#include <gtest/gtest.h>

#include "spock/core/apply_progress.hpp"
#include "spock/core/exception_policy.hpp"
#include "spock/core/log_window.hpp"
#include "spock/core/origin_names.hpp"
#include "spock/core/sync_resume.hpp"

using namespace spock::core;

TEST(OriginNames, ProviderAndForwarded) {
    EXPECT_EQ(origin_name("spk_db_n1_s", 7, 0), "spk_db_n1_s");
    EXPECT_EQ(origin_name("spk_db_n1_s", 7, 7), "spk_db_n1_s");
    EXPECT_EQ(origin_name("spk_db_n1_s", 7, 42), "spk_db_n1_s:n42");
    EXPECT_EQ(forwarded_origin_node("spk_db_n1_s", "spk_db_n1_s:n42"), NodeId{42});
    EXPECT_EQ(forwarded_origin_node("spk_db_n1_s", "spk_db_n1_s"), std::nullopt);
}

// Subscriptions "s" and "s_n5" to the same provider: their slots are "..._s" and "..._s_n5".
// With the old "_n<N>" forwarded names the second slot looked like a forwarded origin of the
// first, so one subscription could resume at the other's position.
TEST(OriginNames, SubscriptionsWhoseNamesLookAlikeDoNotShareOrigins) {
    const std::string s = "spk_db_n1_s";
    const std::string s_n5 = "spk_db_n1_s_n5";
    EXPECT_FALSE(is_subscription_origin(s, s_n5));
    EXPECT_FALSE(is_subscription_origin(s, s_n5 + ":n9"));
    EXPECT_TRUE(is_subscription_origin(s_n5, s_n5 + ":n9"));
    EXPECT_TRUE(is_subscription_origin(s, s));
    EXPECT_TRUE(is_subscription_origin(s, s + ":n5"));
    EXPECT_FALSE(is_subscription_origin(s, s + "_n5"));
}

TEST(OriginNames, RejectsMalformedNodeIds) {
    for (const char* bad : {"s:n", "s:n0", "s:n012", "s:n-1", "s:n1x", "s:n99999999999",
                            "s:n4294967296", "s:m1", "s:n 1"}) {
        EXPECT_EQ(forwarded_origin_node("s", bad), std::nullopt) << bad;
    }
    EXPECT_EQ(forwarded_origin_node("s", "s:n4294967295"), NodeId{4294967295u});
    auto split = split_forwarded_origin("spk_a_b:n17");
    ASSERT_TRUE(split.has_value());
    EXPECT_EQ(split->first, "spk_a_b");
    EXPECT_EQ(split->second, NodeId{17});
    EXPECT_FALSE(split_forwarded_origin(":n17").has_value());
    EXPECT_FALSE(split_forwarded_origin("spk_a_b").has_value());
}

TEST(FlushTracker, ConfirmsOnlyFlushedCommits) {
    FlushTracker t;
    t.committed(Lsn{100}, Lsn{1000});
    t.committed(Lsn{200}, Lsn{2000});
    // Nothing flushed locally yet: nothing to confirm.
    EXPECT_EQ(t.flushed(Lsn{50}, Lsn{3000}, false), kInvalidLsn);
    // The first commit is durable.
    EXPECT_EQ(t.flushed(Lsn{150}, Lsn{3000}, false), Lsn{1000});
    // Everything durable and no transaction open: all that was received is accounted for.
    EXPECT_EQ(t.flushed(Lsn{250}, Lsn{3000}, false), Lsn{3000});
    EXPECT_TRUE(t.empty());
}

TEST(FlushTracker, NeverConfirmsATransactionStillBeingHandled) {
    FlushTracker t;
    EXPECT_EQ(t.flushed(Lsn{10}, Lsn{500}, true), kInvalidLsn);
    t.committed(Lsn{10}, Lsn{400});
    EXPECT_EQ(t.flushed(Lsn{10}, Lsn{500}, true), Lsn{400});
    EXPECT_EQ(t.flushed(Lsn{10}, Lsn{500}, false), Lsn{500});
}

TEST(SkipDecisions, SkipLsnAndResyncedTables) {
    EXPECT_FALSE(skip_transaction(kInvalidLsn, Lsn{5}));
    EXPECT_FALSE(skip_transaction(Lsn{6}, Lsn{5}));
    EXPECT_TRUE(skip_transaction(Lsn{5}, Lsn{5}));
    EXPECT_FALSE(skip_resynced_change(std::nullopt, Lsn{5}));
    EXPECT_TRUE(skip_resynced_change(Lsn{6}, Lsn{5}));
    EXPECT_FALSE(skip_resynced_change(Lsn{5}, Lsn{5}));
    EXPECT_FALSE(skip_resynced_change(Lsn{4}, Lsn{5}));
}

TEST(ExceptionPolicy, WhichErrorsAreReplayed) {
    EXPECT_TRUE(is_replayable_error("23505"));  // unique violation
    EXPECT_TRUE(is_replayable_error("23514"));  // check violation
    EXPECT_TRUE(is_replayable_error("55000"));  // row not found and friends
    EXPECT_TRUE(is_replayable_error("42P01"));  // missing table
    EXPECT_TRUE(is_replayable_error("XX000"));
    EXPECT_FALSE(is_replayable_error("08006"));  // connection
    EXPECT_FALSE(is_replayable_error("57P01"));  // shutdown
    EXPECT_FALSE(is_replayable_error("53200"));  // out of memory
    EXPECT_FALSE(is_replayable_error("53100"));  // disk full
    EXPECT_FALSE(is_replayable_error("58030"));  // I/O
}

TEST(ExceptionPolicy, Outcomes) {
    using B = ExceptionBehaviour;
    using O = ReplayOutcome;
    for (B b : {B::Discard, B::TransDiscard, B::SubDisable}) {
        EXPECT_EQ(replay_outcome(b, false), O::Applied);  // the error did not recur
    }
    EXPECT_EQ(replay_outcome(B::Discard, true), O::PartlyApplied);
    EXPECT_EQ(replay_outcome(B::TransDiscard, true), O::Discarded);
    EXPECT_EQ(replay_outcome(B::SubDisable, true), O::Disable);
    EXPECT_TRUE(advances_origin(O::Applied));
    EXPECT_TRUE(advances_origin(O::PartlyApplied));
    EXPECT_TRUE(advances_origin(O::Discarded));
    EXPECT_FALSE(advances_origin(O::Disable));
    EXPECT_TRUE(change_kept(O::PartlyApplied, false));
    EXPECT_FALSE(change_kept(O::PartlyApplied, true));
    EXPECT_FALSE(change_kept(O::Discarded, false));
    EXPECT_FALSE(change_kept(O::Disable, false));
}

TEST(ExceptionPolicy, Logging) {
    using L = ExceptionLogging;
    using O = ReplayOutcome;
    // Nothing at all with none, nothing for a transaction applied in full.
    EXPECT_FALSE(log_change(L::None, O::Discarded, true));
    EXPECT_FALSE(log_change(L::All, O::Applied, false));
    // Failed changes always; collateral ones (discarded with the transaction) too.
    EXPECT_TRUE(log_change(L::Discard, O::PartlyApplied, true));
    EXPECT_TRUE(log_change(L::Discard, O::Discarded, false));
    EXPECT_TRUE(log_change(L::Discard, O::Disable, false));
    // Applied changes of a partly applied transaction only with all.
    EXPECT_FALSE(log_change(L::Discard, O::PartlyApplied, false));
    EXPECT_TRUE(log_change(L::All, O::PartlyApplied, false));
}

TEST(ExceptionPolicy, Messages) {
    EXPECT_EQ(error_text("23514", "new row violates check constraint \"c\""),
              "[23514] new row violates check constraint \"c\"");
    EXPECT_EQ(error_text("23514", "m", "Failing row contains (1, -1)."),
              "[23514] m DETAIL: Failing row contains (1, -1).");
    EXPECT_EQ(collateral_message(ExceptionBehaviour::TransDiscard, 41, "[23514] boom"),
              "transdiscard: change discarded because change 41 of the transaction failed: "
              "[23514] boom");
}

TEST(SyncResume, WhatAnInterruptedSynchronisationDoes) {
    using R = SyncResume;
    EXPECT_EQ(sync_resume('d', 'i'), R::Full);
    EXPECT_EQ(sync_resume('f', 'u'), R::Full);
    // Killed during the data copy: nothing of it committed, copy again.
    EXPECT_EQ(sync_resume('d', 'd'), R::Full);
    // With structure, pre-data is in already: not resumable.
    EXPECT_EQ(sync_resume('f', 'd'), R::Refuse);
    EXPECT_EQ(sync_resume('f', 's'), R::Refuse);
    EXPECT_EQ(sync_resume('f', 'c'), R::Refuse);
    // The copy committed: only the origin and the ready status are left.
    EXPECT_EQ(sync_resume('d', 'y'), R::FinishOnly);
}

TEST(LogWindow, BurstThenSummary) {
    LogWindow w(3, 10'000'000);
    std::uint64_t left_out = 99;
    EXPECT_TRUE(w.admit(0, &left_out));
    EXPECT_EQ(left_out, 0u);
    EXPECT_TRUE(w.admit(1, &left_out));
    EXPECT_TRUE(w.admit(2, &left_out));
    EXPECT_FALSE(w.admit(3, &left_out));
    EXPECT_FALSE(w.admit(4, &left_out));
    EXPECT_EQ(w.pending_suppressed(), 2u);
    // The next window starts: the caller learns that two lines were left out.
    left_out = 0;
    EXPECT_TRUE(w.admit(10'000'000, &left_out));
    EXPECT_EQ(left_out, 2u);
    EXPECT_EQ(w.pending_suppressed(), 0u);
    // A quiet caller learns about a window that ended with lines left out.
    EXPECT_TRUE(w.admit(10'000'001, &left_out));
    EXPECT_TRUE(w.admit(10'000'002, &left_out));
    EXPECT_FALSE(w.admit(10'000'003, &left_out));
    EXPECT_EQ(w.take_ended(10'000'004), 0u);  // still open
    EXPECT_EQ(w.take_ended(20'000'000), 1u);
    EXPECT_EQ(w.take_ended(20'000'001), 0u);
    // A clock that goes backwards starts a new window rather than blocking forever.
    EXPECT_TRUE(w.admit(5, &left_out));
}
