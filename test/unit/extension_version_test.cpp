// Which installed versions of extension spock the manager updates (docs/upgrading.md).
#include <gtest/gtest.h>

#include <string>

#include "spock/core/extension_version.hpp"
#include "spock/core/version.hpp"

using namespace spock::core;

TEST(ExtensionVersion, Spock50Versions) {
    for (int n = 0; n <= 11; n++) {
        EXPECT_TRUE(is_spock50_version("5.0." + std::to_string(n))) << n;
    }
    EXPECT_FALSE(is_spock50_version("5.0.12"));
    EXPECT_FALSE(is_spock50_version("5.0."));
    EXPECT_FALSE(is_spock50_version("5.0.01"));
    EXPECT_FALSE(is_spock50_version("5.0.1a"));
    EXPECT_FALSE(is_spock50_version("5.0.100"));
    EXPECT_FALSE(is_spock50_version("5.1.0"));
    EXPECT_FALSE(is_spock50_version("4.0.10"));
    EXPECT_FALSE(is_spock50_version("6.0.0"));
    EXPECT_FALSE(is_spock50_version(""));
}

TEST(ExtensionVersion, Action) {
    EXPECT_EQ(extension_action(kVersion, kVersion), ExtensionAction::Current);
    EXPECT_EQ(extension_action("5.0.0", kVersion), ExtensionAction::Update);
    EXPECT_EQ(extension_action("5.0.11", kVersion), ExtensionAction::Update);
    // Newer than the library, or a version without update scripts: left alone.
    EXPECT_EQ(extension_action("6.0.0", kVersion), ExtensionAction::Unsupported);
    EXPECT_EQ(extension_action("5.0.12", kVersion), ExtensionAction::Unsupported);
    EXPECT_EQ(extension_action("4.0.10", kVersion), ExtensionAction::Unsupported);
    EXPECT_EQ(extension_action("", kVersion), ExtensionAction::Unsupported);
}
