#include "spock/core/error.hpp"
#include "spock/core/text_array.hpp"

#include <gtest/gtest.h>

namespace spock::core {
namespace {

TEST(TextArray, BuildsQuotedLiteral) {
    EXPECT_EQ(to_array_literal({}), "{}");
    EXPECT_EQ(to_array_literal({"a", std::nullopt, "b c"}), "{\"a\",NULL,\"b c\"}");
    EXPECT_EQ(to_array_literal({"say \"hi\"", "back\\slash"}),
              "{\"say \\\"hi\\\"\",\"back\\\\slash\"}");
    EXPECT_EQ(to_array_literal({"NULL"}), "{\"NULL\"}");
}

TEST(TextArray, ParsesArrayOut) {
    EXPECT_TRUE(from_array_literal("{}").empty());
    auto v = from_array_literal("{default,default_insert_only,ddl_sql}");
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(*v[0], "default");
    EXPECT_EQ(*v[2], "ddl_sql");
    v = from_array_literal("{a,NULL,\"b c\",\"NULL\",\"q\\\"x\"}");
    ASSERT_EQ(v.size(), 5u);
    EXPECT_FALSE(v[1].has_value());
    EXPECT_EQ(*v[2], "b c");
    EXPECT_EQ(*v[3], "NULL");
    EXPECT_EQ(*v[4], "q\"x");
}

TEST(TextArray, RoundTrips) {
    std::vector<OptionalText> in = {"x", std::nullopt, "", "a,b", "{}", "\\"};
    EXPECT_EQ(from_array_literal(to_array_literal(in)), in);
}

TEST(TextArray, RejectsMalformedInput) {
    for (const char* bad :
         {"", "a", "{", "{a", "{a,}", "{,a}", "{\"a}", "{a}x", "{a\"b}", "{\"a\\"}) {
        EXPECT_THROW(from_array_literal(bad), Error) << bad;
    }
}

}  // namespace
}  // namespace spock::core
