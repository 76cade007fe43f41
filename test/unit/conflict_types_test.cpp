// Conflict type names, per-type counts and the log rate limit (docs/conflicts.md).
#include "spock/core/conflict_types.hpp"

#include <gtest/gtest.h>

#include <string>

namespace {

using namespace spock::core;
using Limiter = ConflictLogLimiter;

TEST(ConflictTypes, NamesArePostgres18s) {
    const char* expected[kConflictTypeCount] = {"insert_exists",
                                                "update_origin_differs",
                                                "update_exists",
                                                "update_missing",
                                                "delete_origin_differs",
                                                "delete_missing",
                                                "multiple_unique_conflicts",
                                                "update_deleted",
                                                "delete_exists",
                                                "insert_deleted"};
    for (int i = 0; i < kConflictTypeCount; i++) {
        EXPECT_EQ(std::string(conflict_type_name(static_cast<ConflictType>(i))), expected[i]);
    }
}

TEST(ConflictTypes, CountsAddAndClear) {
    ConflictCounts c;
    EXPECT_FALSE(c.any());
    c.add(ConflictType::UpdateMissing);
    c.add(ConflictType::UpdateMissing);
    c.add(ConflictType::DeleteMissing);
    EXPECT_TRUE(c.any());
    EXPECT_EQ(c.n[conflict_index(ConflictType::UpdateMissing)], 2u);
    EXPECT_EQ(c.n[conflict_index(ConflictType::DeleteMissing)], 1u);
    EXPECT_EQ(c.n[conflict_index(ConflictType::InsertExists)], 0u);
    c.clear();
    EXPECT_FALSE(c.any());
}

TEST(ConflictLogLimiter, LogsTheFirstLinesOfAWindowThenSummarisesAtTheNextConflict) {
    Limiter l;
    Limiter::Summary s{};
    bool ended = false;
    std::int64_t t0 = 1'000'000'000;
    for (std::uint32_t i = 0; i < Limiter::kLinesPerWindow; i++) {
        EXPECT_TRUE(l.admit(ConflictType::UpdateMissing, t0 + i, &s, &ended));
        EXPECT_FALSE(ended);
    }
    EXPECT_FALSE(l.would_log(ConflictType::UpdateMissing, t0 + 1000));
    EXPECT_TRUE(l.would_log(ConflictType::DeleteMissing, t0 + 1000));
    EXPECT_TRUE(l.would_log(ConflictType::UpdateMissing, t0 + Limiter::kWindowUs));
    for (int i = 0; i < 25; i++) {
        EXPECT_FALSE(l.admit(ConflictType::UpdateMissing, t0 + 1000 + i, &s, &ended));
        EXPECT_FALSE(ended);
    }
    // Other types have windows of their own.
    EXPECT_TRUE(l.admit(ConflictType::DeleteMissing, t0 + 2000, &s, &ended));
    // The window is over: the next conflict is logged, after the summary of the last window.
    EXPECT_TRUE(l.admit(ConflictType::UpdateMissing, t0 + Limiter::kWindowUs, &s, &ended));
    ASSERT_TRUE(ended);
    EXPECT_EQ(s.type, ConflictType::UpdateMissing);
    EXPECT_EQ(s.suppressed, 25u);
    EXPECT_EQ(s.window_start_us, t0);
}

TEST(ConflictLogLimiter, ExpireReportsOnlyWindowsThatSuppressedLines) {
    Limiter l;
    Limiter::Summary s{};
    bool ended = false;
    Limiter::Summary out[kConflictTypeCount];
    std::int64_t t0 = 5'000'000;
    for (std::uint32_t i = 0; i < Limiter::kLinesPerWindow + 3; i++) {
        l.admit(ConflictType::InsertExists, t0, &s, &ended);
    }
    l.admit(ConflictType::DeleteMissing, t0, &s, &ended);
    EXPECT_EQ(l.expire(t0 + Limiter::kWindowUs - 1, out), 0);
    ASSERT_EQ(l.expire(t0 + Limiter::kWindowUs, out), 1);
    EXPECT_EQ(out[0].type, ConflictType::InsertExists);
    EXPECT_EQ(out[0].suppressed, 3u);
    // Reported once: the window is closed, and a new one starts with the next conflict.
    EXPECT_EQ(l.expire(t0 + 3 * Limiter::kWindowUs, out), 0);
    EXPECT_TRUE(l.admit(ConflictType::InsertExists, t0 + 3 * Limiter::kWindowUs, &s, &ended));
    EXPECT_FALSE(ended);
}

TEST(ConflictLogLimiter, AClockGoingBackwardsEndsTheWindow) {
    Limiter l;
    Limiter::Summary s{};
    bool ended = false;
    for (std::uint32_t i = 0; i < Limiter::kLinesPerWindow + 1; i++) {
        l.admit(ConflictType::UpdateExists, 100'000'000, &s, &ended);
    }
    EXPECT_TRUE(l.admit(ConflictType::UpdateExists, 1'000, &s, &ended));
    ASSERT_TRUE(ended);
    EXPECT_EQ(s.suppressed, 1u);
}

}  // namespace
