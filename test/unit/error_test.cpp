#include "spock/core/error.hpp"
#include "spock/core/version.hpp"

#include <gtest/gtest.h>

namespace spock::core {
namespace {

TEST(SqlState, AcceptsOnlyFiveDigitsOrCapitals) {
    EXPECT_TRUE(is_valid_sqlstate("42704"));
    EXPECT_TRUE(is_valid_sqlstate("XX000"));
    EXPECT_TRUE(is_valid_sqlstate("0A000"));
    EXPECT_FALSE(is_valid_sqlstate(""));
    EXPECT_FALSE(is_valid_sqlstate("4270"));
    EXPECT_FALSE(is_valid_sqlstate("427041"));
    EXPECT_FALSE(is_valid_sqlstate("4270a"));
    EXPECT_FALSE(is_valid_sqlstate("42 04"));
}

TEST(Error, CarriesAllFields) {
    Error e(sqlstate::kUndefinedObject, "node \"n1\" not found", "Some detail.", "Some hint.");
    EXPECT_EQ(e.sqlstate(), "42704");
    EXPECT_EQ(e.message(), "node \"n1\" not found");
    EXPECT_STREQ(e.what(), "node \"n1\" not found");
    EXPECT_EQ(e.detail(), "Some detail.");
    EXPECT_EQ(e.hint(), "Some hint.");
}

TEST(Error, MalformedSqlStateBecomesInternalError) {
    Error e("oops", "message");
    EXPECT_EQ(e.sqlstate(), "XX000");
}

TEST(Error, IsCatchableAsStdException) {
    try {
        throw Error(sqlstate::kDuplicateObject, "duplicate");
    } catch (const std::exception& e) {
        EXPECT_STREQ(e.what(), "duplicate");
        return;
    }
    FAIL() << "not caught";
}

TEST(Version, MatchesTheExtensionScript) {
    EXPECT_STREQ(kVersion, "5.1.0");
    EXPECT_EQ(kVersionNum, 50100);
    EXPECT_LE(kMinProtoVersion, kMaxProtoVersion);
    EXPECT_EQ(kMinProtoVersion, 3);
    EXPECT_EQ(kMaxProtoVersion, 4);
}

}  // namespace
}  // namespace spock::core
