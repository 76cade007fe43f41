// hash_any / hash_uint32 against values computed by a PostgreSQL 15.20 server (x86_64):
// hashtext() for strings, hashint4() for hash_uint32, hashoidvector() for uint32 words.
#include "spock/core/hash.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace {

using spock::core::hash_bytes;
using spock::core::hash_uint32;
using spock::core::hash_uint32_words;

// hashtext() returns int4; compare with our unsigned value reinterpreted.
std::int32_t signed_hash(std::string_view s) {
    return static_cast<std::int32_t>(hash_bytes(s));
}

constexpr std::string_view kPangram = "The quick brown fox jumps over the lazy dog 0123456789";

// SELECT n, hashtext(left(kPangram, n)) FROM generate_series(0, 40) n
constexpr std::array<std::int32_t, 41> kPrefixHashes = {
    -1477818771, 189977564,   -1032424723, -2092041454, -529746819,  1319395734,  2048143525,
    105174900,   -461557097,  916841358,   1490567601,  2124940397,  82921656,    -1857862021,
    -435097191,  1349080213,  -807732534,  1801273035,  2125926248,  -287177489,  -685456130,
    300619715,   -1262620514, -1236432247, -1217470220, 1370806276,  2038649153,  1771424372,
    1000863782,  -1372205352, 1474626926,  1482680789,  -2097643709, 1270545934,  282202191,
    646838985,   -542547460,  1430556688,  -1835488606, 1690460682,  -1767799431,
};

TEST(HashBytes, MatchesServerForEveryLengthUpTo40) {
    for (std::size_t n = 0; n < kPrefixHashes.size(); ++n) {
        EXPECT_EQ(signed_hash(kPangram.substr(0, n)), kPrefixHashes[n]) << "length " << n;
    }
}

TEST(HashBytes, MatchesServerForNames) {
    struct Case {
        std::string_view text;
        std::int32_t expected;
    };
    // SELECT s, hashtext(s) FROM unnest(ARRAY[...]) s
    const std::vector<Case> cases = {
        {"n1", 673694252},
        {"n2", 560818415},
        {"n3", 193995617},
        {"node1", 1148549230},
        {"node2", -927910690},
        {"subscriber", -1353812061},
        {"provider", -1123068372},
        {"default", 822708183},
        {"default_insert_only", -310772360},
        {"ddl_sql", 597667261},
        {"postgres", -596764388},
        {"sub_n1_n2", -1315020945},
        {"sub_n2_n1", 1248781941},
        {"pgedge", 42824978},
        {"A", 1656725486},
        {"Z", 1012877639},
        {"0", -1970733076},
        {"_", 595462348},
        {"public.\"Order Items\"", 669688326},
        {"\"public\".\"t1\"", 1723078658},
        {"public.t1", 1918225501},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(signed_hash(c.text), c.expected) << c.text;
    }
}

TEST(HashBytes, MatchesServerForUtf8) {
    EXPECT_EQ(signed_hash("ÄÖÜ"), -927670019);
    EXPECT_EQ(signed_hash("日本語のノード"), 1797570971);
    EXPECT_EQ(signed_hash("żółć-node"), -292951280);
    EXPECT_EQ(signed_hash("emoji😀x"), 589327256);
}

TEST(HashBytes, StringAndByteOverloadsAgree) {
    const std::string_view s = kPangram.substr(0, 29);
    EXPECT_EQ(hash_bytes(s), hash_bytes(std::as_bytes(std::span<const char>(s.data(), s.size()))));
}

TEST(HashBytes, IndependentOfAlignment) {
    // The server reads aligned input word-wise and unaligned input byte-wise; both must agree.
    std::array<char, 64> buffer{};
    for (std::size_t offset = 0; offset < 4; ++offset) {
        std::memcpy(buffer.data() + offset, kPangram.data(), 37);
        EXPECT_EQ(hash_bytes(std::string_view(buffer.data() + offset, 37)),
                  static_cast<std::uint32_t>(kPrefixHashes[37]))
            << "offset " << offset;
    }
}

TEST(HashUint32, MatchesServerHashint4) {
    struct Case {
        std::int32_t value;
        std::int32_t expected;
    };
    // SELECT v, hashint4(v) FROM unnest(ARRAY[...]) v
    const std::vector<Case> cases = {
        {0, -272711505},      {1, -1905060026},        {5, -1330264708},
        {-1, 385747274},      {2147483647, -96758253}, {INT32_MIN, -1524351049},
        {49708, -1314078579}, {123456789, 524883300},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(static_cast<std::int32_t>(hash_uint32(static_cast<std::uint32_t>(c.value))),
                  c.expected)
            << c.value;
    }
}

TEST(HashUint32, EqualsHashOfFourNativeBytes) {
    for (std::uint32_t k : {0U, 1U, 0xdeadbeefU, 0xffffffffU}) {
        const std::array<std::uint32_t, 1> word = {k};
        EXPECT_EQ(hash_uint32(k), hash_uint32_words(word)) << k;
    }
}

TEST(HashUint32Words, MatchesServerHashoidvector) {
    struct Case {
        std::array<std::uint32_t, 2> words;
        std::int32_t expected;
    };
    // SELECT hashoidvector('a b'::oidvector): hash_any over the two oids' native bytes, which
    // exercises zero and 0xff bytes that text input cannot carry.
    const std::vector<Case> cases = {
        {{1, 2}, 456323500},
        {{0, 0}, -277445604},
        {{0xffffffffU, 0xffffffffU}, 68015284},
        {{49708, 123456789}, 779891677},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(static_cast<std::int32_t>(hash_uint32_words(c.words)), c.expected)
            << c.words[0] << " " << c.words[1];
    }
    const std::array<std::uint32_t, 1> zero = {0};
    EXPECT_EQ(static_cast<std::int32_t>(hash_uint32_words(zero)), -272711505);
}

}  // namespace
