#include "spock/core/hex.hpp"

#include <gtest/gtest.h>

using spock::core::decode_bytea_hex;
using spock::core::hex_digit_value;

TEST(Hex, DigitValues) {
    EXPECT_EQ(hex_digit_value('0'), 0);
    EXPECT_EQ(hex_digit_value('9'), 9);
    EXPECT_EQ(hex_digit_value('a'), 10);
    EXPECT_EQ(hex_digit_value('F'), 15);
    EXPECT_EQ(hex_digit_value('g'), -1);
    EXPECT_EQ(hex_digit_value('/'), -1);
    EXPECT_EQ(hex_digit_value('\0'), -1);
}

TEST(Hex, ByteaHexOutput) {
    EXPECT_EQ(decode_bytea_hex("\\x"), std::string());
    EXPECT_EQ(decode_bytea_hex("\\x00ff41"), std::string("\0\xff"
                                                         "A",
                                                         3));
    EXPECT_EQ(decode_bytea_hex("\\xAbCd"), std::string("\xab\xcd", 2));
}

TEST(Hex, NotByteaHexOutput) {
    EXPECT_FALSE(decode_bytea_hex(""));
    EXPECT_FALSE(decode_bytea_hex("x00"));
    EXPECT_FALSE(decode_bytea_hex("\\x0"));     // odd number of digits
    EXPECT_FALSE(decode_bytea_hex("\\x0g"));    // not a digit
    EXPECT_FALSE(decode_bytea_hex("\\\\x00"));  // escape format
}
