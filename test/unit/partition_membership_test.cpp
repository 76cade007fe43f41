#include "spock/core/partition_membership.hpp"

#include <gtest/gtest.h>

namespace spock::core {
namespace {

TEST(PartitionMembership, PlainTableFollowsItsOwnRow) {
    EXPECT_EQ(choose_membership(true, false, nullptr, 0).source, MemberSource::Own);
    EXPECT_EQ(choose_membership(false, false, nullptr, 0).source, MemberSource::None);
}

TEST(PartitionMembership, NewPartitionInheritsFromItsParent) {
    bool anc[] = {true};
    MembershipChoice c = choose_membership(false, false, anc, 1);
    EXPECT_EQ(c.source, MemberSource::Ancestor);
    EXPECT_EQ(c.ancestor, 0u);
}

TEST(PartitionMembership, NearestAncestorWithARowWins) {
    bool anc[] = {false, true, true};
    MembershipChoice c = choose_membership(false, false, anc, 3);
    EXPECT_EQ(c.source, MemberSource::Ancestor);
    EXPECT_EQ(c.ancestor, 1u);
}

TEST(PartitionMembership, OwnRowOverridesAncestors) {
    bool anc[] = {true};
    EXPECT_EQ(choose_membership(true, false, anc, 1).source, MemberSource::Own);
    // An own row is an explicit add, which also ends an exclusion.
    EXPECT_EQ(choose_membership(true, true, anc, 1).source, MemberSource::Own);
}

TEST(PartitionMembership, ExcludedPartitionIsNotAMember) {
    bool anc[] = {true, true};
    EXPECT_EQ(choose_membership(false, true, anc, 2).source, MemberSource::None);
}

TEST(PartitionMembership, NoAncestorInTheSet) {
    bool anc[] = {false, false};
    EXPECT_EQ(choose_membership(false, false, anc, 2).source, MemberSource::None);
}

TEST(PartitionMembership, DetachedPartitionHasNoAncestors) {
    // After DETACH the table has no ancestors: without a row of its own it leaves the set.
    EXPECT_EQ(choose_membership(false, false, nullptr, 0).source, MemberSource::None);
}

}  // namespace
}  // namespace spock::core
