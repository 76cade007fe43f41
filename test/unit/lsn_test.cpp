// Lsn text form (pg_lsn_in / pg_lsn_out rules), TimestampUs epoch, big-endian helpers.
#include "spock/core/lsn.hpp"

#include <gtest/gtest.h>

#include <string>

#include "spock/core/byte_order.hpp"
#include "spock/core/error.hpp"

namespace {

using namespace spock::core;

TEST(Lsn, FormatsLikePgLsnOut) {
    EXPECT_EQ(Lsn{}.to_string(), "0/0");
    EXPECT_EQ(Lsn{0x16B374D848}.to_string(), "16/B374D848");
    EXPECT_EQ(Lsn{0x1000000}.to_string(), "0/1000000");
    EXPECT_EQ(Lsn{~std::uint64_t{0}}.to_string(), "FFFFFFFF/FFFFFFFF");
}

TEST(Lsn, ParsesLikePgLsnIn) {
    EXPECT_EQ(Lsn::parse("16/B374D848"), Lsn{0x16B374D848});
    EXPECT_EQ(Lsn::parse("16/b374d848"), Lsn{0x16B374D848});
    EXPECT_EQ(Lsn::parse("0/0"), kInvalidLsn);
    EXPECT_EQ(Lsn::parse("00000001/00000002"), Lsn{0x100000002});
    EXPECT_EQ(Lsn::parse("FFFFFFFF/FFFFFFFF"), Lsn{~std::uint64_t{0}});
    for (const char* bad : {"", "/", "0/", "/0", "1", "G/0", "0/G", " 0/0", "0/0 ", "0 /0",
                            "123456789/0", "0/123456789", "1/2/3", "-1/0", "+1/0", "0x1/0"}) {
        EXPECT_FALSE(Lsn::try_parse(bad).has_value()) << bad;
        try {
            (void)Lsn::parse(bad);
            ADD_FAILURE() << bad;
        } catch (const Error& e) {
            EXPECT_EQ(e.sqlstate(), "22P02");
            EXPECT_EQ(e.message(),
                      std::string("invalid input syntax for type pg_lsn: \"") + bad + "\"");
        }
    }
}

TEST(Lsn, RoundTripsAndOrders) {
    for (std::uint64_t v : {std::uint64_t{1}, std::uint64_t{0xABCDEF0123456789},
                            std::uint64_t{0xFFFFFFFF}, std::uint64_t{0x100000000}}) {
        EXPECT_EQ(Lsn::parse(Lsn{v}.to_string()), Lsn{v});
    }
    EXPECT_LT(Lsn{1}, Lsn{2});
    EXPECT_FALSE(kInvalidLsn.is_valid());
    EXPECT_TRUE(Lsn{1}.is_valid());
}

TEST(TimestampUs, PostgresEpoch) {
    // 2000-01-01 00:00:00 UTC is Unix time 946684800.
    EXPECT_EQ(timestamp_from_unix_us(946684800LL * 1000000), TimestampUs{0});
    EXPECT_EQ(timestamp_to_unix_us(TimestampUs{1}), 946684800LL * 1000000 + 1);
    EXPECT_LT(TimestampUs{-1}, TimestampUs{0});
}

TEST(ByteOrder, BigEndianPutAndGet) {
    std::string out;
    put_u8(out, 0xAB);
    put_u16(out, 0x0102);
    put_u32(out, 0x03040506);
    put_i32(out, -2);
    put_u64(out, 0x0708090A0B0C0D0E);
    put_i64(out, -3);
    const std::string expected(
        "\xAB\x01\x02\x03\x04\x05\x06\xFF\xFF\xFF\xFE"
        "\x07\x08\x09\x0A\x0B\x0C\x0D\x0E"
        "\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFD",
        1 + 2 + 4 + 4 + 8 + 8);
    EXPECT_EQ(out, expected);
    const char* p = out.data();
    EXPECT_EQ(get_u8(p), 0xAB);
    EXPECT_EQ(get_u16(p + 1), 0x0102);
    EXPECT_EQ(get_u32(p + 3), 0x03040506U);
    EXPECT_EQ(get_i32(p + 7), -2);
    EXPECT_EQ(get_u64(p + 11), 0x0708090A0B0C0D0EULL);
    EXPECT_EQ(get_i64(p + 19), -3);
}

}  // namespace
