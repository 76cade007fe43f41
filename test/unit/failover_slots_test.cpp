#include "spock/core/failover_slots.hpp"

#include <gtest/gtest.h>

#include "spock/core/error.hpp"

using namespace spock::core;

namespace {

Lsn L(std::uint64_t v) {
    return Lsn{v};
}
Xid X(std::uint32_t v) {
    return Xid{v};
}

}  // namespace

TEST(SlotFilters, ParsesEachKind) {
    auto f = parse_slot_filters({"name:a", "name_like:spk_%", "plugin:spock_output"});
    ASSERT_EQ(f.size(), 3u);
    EXPECT_EQ(f[0], (SlotFilter{SlotFilter::Kind::Name, "a"}));
    EXPECT_EQ(f[1], (SlotFilter{SlotFilter::Kind::NameLike, "spk_%"}));
    EXPECT_EQ(f[2], (SlotFilter{SlotFilter::Kind::Plugin, "spock_output"}));
    EXPECT_TRUE(parse_slot_filters({}).empty());
}

TEST(SlotFilters, RejectsUnknownPrefixAndEmptyValue) {
    try {
        parse_slot_filters({"slot:a"});
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "22023");
        EXPECT_NE(e.message().find("slot:a"), std::string::npos);
        EXPECT_FALSE(e.hint().empty());
    }
    EXPECT_THROW(parse_slot_filters({"name:"}), Error);
    EXPECT_THROW(parse_slot_filters({"name_like:"}), Error);
    EXPECT_THROW(parse_slot_filters({"plugin:"}), Error);
}

TEST(SlotFilters, LikeMatching) {
    EXPECT_TRUE(like_match("%", ""));
    EXPECT_TRUE(like_match("%%", "anything"));
    EXPECT_TRUE(like_match("spk_%", "spk_pg_n1_sub"));
    EXPECT_TRUE(like_match("spk_%", "spkXa"));  // _ is any one character
    EXPECT_FALSE(like_match("spk\\_%", "spkXa"));
    EXPECT_TRUE(like_match("spk\\_%", "spk_a"));
    EXPECT_TRUE(like_match("a%b%c", "axxbyyc"));
    EXPECT_FALSE(like_match("a%b%c", "axxbyy"));
    EXPECT_TRUE(like_match("a_c", "abc"));
    EXPECT_FALSE(like_match("a_c", "abbc"));
    EXPECT_FALSE(like_match("abc", "ABC"));
    EXPECT_FALSE(like_match("", "a"));
    EXPECT_TRUE(like_match("%sub", "x_sub"));
}

TEST(SlotFilters, AnyFilterMatches) {
    auto f = parse_slot_filters({"name:exact", "name_like:spk_%", "plugin:test_decoding"});
    EXPECT_TRUE(slot_matches(f, "exact", "pgoutput"));
    EXPECT_TRUE(slot_matches(f, "spk_x", "pgoutput"));
    EXPECT_TRUE(slot_matches(f, "other", "test_decoding"));
    EXPECT_FALSE(slot_matches(f, "other", "pgoutput"));
    EXPECT_FALSE(slot_matches(f, "exactly", "pgoutput"));
    EXPECT_FALSE(slot_matches({}, "a", "b"));
}

TEST(SlotCopy, CreatedOnlyOnceReplayedPastRestart) {
    SlotPosition remote{L(100), L(150), X(700)};
    EXPECT_FALSE(may_create_copy(remote, L(99)));
    EXPECT_TRUE(may_create_copy(remote, L(100)));
    EXPECT_FALSE(may_create_copy(SlotPosition{L(0), L(150), X(700)}, L(500)));
    EXPECT_FALSE(may_create_copy(SlotPosition{L(100), L(150), X(0)}, L(500)));
    SlotPosition c = initial_copy(remote, L(120));
    EXPECT_EQ(c.restart_lsn, L(100));
    EXPECT_EQ(c.confirmed_flush, L(120));  // capped at replay
    EXPECT_EQ(c.catalog_xmin.value, 700u);
    EXPECT_EQ(initial_copy(remote, L(200)).confirmed_flush, L(150));
}

TEST(SlotCopy, NeverBeyondReplayNeverBackwards) {
    SlotPosition local{L(100), L(150), X(700)};
    // The primary moved on, the standby has not replayed its restart_lsn yet: only
    // confirmed_flush follows, up to the replay position.
    auto n = advance_copy(local, SlotPosition{L(300), L(400), X(900)}, L(200));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->restart_lsn, L(100));
    EXPECT_EQ(n->catalog_xmin.value, 700u);
    EXPECT_EQ(n->confirmed_flush, L(200));
    // Replayed far enough: restart_lsn and catalog_xmin move together.
    n = advance_copy(local, SlotPosition{L(300), L(400), X(900)}, L(1000));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->restart_lsn, L(300));
    EXPECT_EQ(n->catalog_xmin.value, 900u);
    EXPECT_EQ(n->confirmed_flush, L(400));
    // A primary slot that went backwards (recreated, say) does not pull the copy back.
    EXPECT_FALSE(advance_copy(local, SlotPosition{L(50), L(60), X(600)}, L(1000)));
    // Nothing new: no change.
    EXPECT_FALSE(advance_copy(local, local, L(1000)));
}

TEST(SlotCopy, CatalogXminAcrossWraparound) {
    EXPECT_TRUE(xid_precedes_or_equals(X(4294967000u), X(10)));
    EXPECT_FALSE(xid_precedes_or_equals(X(10), X(4294967000u)));
    SlotPosition local{L(100), L(100), X(4294967000u)};
    auto n = advance_copy(local, SlotPosition{L(200), L(200), X(5)}, L(300));
    ASSERT_TRUE(n);
    EXPECT_EQ(n->catalog_xmin.value, 5u);
}

TEST(SlotCopy, CatalogSafeOnlyWithFeedback) {
    EXPECT_FALSE(copy_catalog_safe(X(700), X(0)));    // no feedback yet
    EXPECT_FALSE(copy_catalog_safe(X(700), X(701)));  // feedback older than the copy
    EXPECT_TRUE(copy_catalog_safe(X(700), X(700)));
    EXPECT_TRUE(copy_catalog_safe(X(700), X(650)));
    EXPECT_FALSE(copy_catalog_safe(X(0), X(650)));
}

TEST(StandbyGate, NoNamesNoGate) {
    EXPECT_FALSE(standby_confirmed_lsn({}, -1));
}

TEST(StandbyGate, AllOrSomeMustConfirm) {
    std::vector<std::optional<Lsn>> c{L(300), L(100), L(200)};
    EXPECT_EQ(standby_confirmed_lsn(c, -1), L(100));
    EXPECT_EQ(standby_confirmed_lsn(c, 1), L(300));
    EXPECT_EQ(standby_confirmed_lsn(c, 2), L(200));
    EXPECT_EQ(standby_confirmed_lsn(c, 5), L(100));  // more than named: all of them
    EXPECT_FALSE(standby_confirmed_lsn(c, 0));       // 0: nothing to wait for
}

TEST(StandbyGate, MissingSlotConfirmsNothing) {
    std::vector<std::optional<Lsn>> c{L(300), std::nullopt};
    EXPECT_EQ(standby_confirmed_lsn(c, -1), kInvalidLsn);
    EXPECT_EQ(standby_confirmed_lsn(c, 1), L(300));
}
