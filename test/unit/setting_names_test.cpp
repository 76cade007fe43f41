// Suggestions for mistyped spock.* settings, and who may write under spock.readonly.
#include <gtest/gtest.h>

#include "spock/core/read_only.hpp"
#include "spock/core/setting_names.hpp"

using namespace spock::core;

namespace {
const std::vector<std::string> kReal = {"spock.conflict_resolution", "spock.readonly",
                                        "spock.save_resolutions", "spock.country",
                                        "spock.exception_behaviour"};
}

TEST(SettingNames, EditDistance) {
    EXPECT_EQ(edit_distance("", ""), 0u);
    EXPECT_EQ(edit_distance("abc", ""), 3u);
    EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
    EXPECT_EQ(edit_distance("readonly", "read_only"), 1u);
}

TEST(SettingNames, SuggestsCloseRealSetting) {
    EXPECT_EQ(closest_setting("spock.read_only", kReal), "spock.readonly");
    EXPECT_EQ(closest_setting("spock.exception_behavior", kReal), "spock.exception_behaviour");
    EXPECT_EQ(closest_setting("spock.conflict_resolutoin", kReal), "spock.conflict_resolution");
    EXPECT_EQ(closest_setting("SPOCK.Countyr", kReal), "spock.country");
}

TEST(SettingNames, NoSuggestionForCustomVariables) {
    EXPECT_FALSE(closest_setting("spock.my_application_tag", kReal).has_value());
    EXPECT_FALSE(closest_setting("spock.x", kReal).has_value());
}

TEST(SettingNames, NoSuggestionForRealSetting) {
    EXPECT_FALSE(closest_setting("spock.readonly", kReal).has_value());
    EXPECT_FALSE(closest_setting("Spock.ReadOnly", kReal).has_value());
}

TEST(SettingNames, ThresholdGrowsWithLength) {
    EXPECT_EQ(typo_threshold("spock.abc"), 1u);
    EXPECT_EQ(typo_threshold("spock.readonly"), 2u);
    EXPECT_EQ(typo_threshold("spock.conflict_resolution"), 3u);
}

TEST(ReadOnly, WhoMayWrite) {
    EXPECT_TRUE(read_only_allows(ReadOnlyMode::Off, Writer::Session));
    EXPECT_FALSE(read_only_allows(ReadOnlyMode::User, Writer::Session));
    EXPECT_TRUE(read_only_allows(ReadOnlyMode::User, Writer::Replication));
    EXPECT_TRUE(read_only_allows(ReadOnlyMode::User, Writer::Manager));
    EXPECT_FALSE(read_only_allows(ReadOnlyMode::All, Writer::Replication));
    EXPECT_FALSE(read_only_allows(ReadOnlyMode::All, Writer::Manager));
    EXPECT_FALSE(replication_waits(ReadOnlyMode::User));
    EXPECT_TRUE(replication_waits(ReadOnlyMode::All));
}
