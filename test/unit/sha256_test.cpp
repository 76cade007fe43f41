// SHA-256 and HMAC-SHA-256 against published test vectors (FIPS 180-4 examples, RFC 4231),
// and the tags of repair mode messages.
#include "spock/core/sha256.hpp"

#include <gtest/gtest.h>

#include <string>

#include "spock/core/wal_message.hpp"

namespace {

using namespace spock::core;

std::string hex(const Sha256Digest& d) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : d) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

TEST(Sha256, KnownDigests) {
    EXPECT_EQ(hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(hex(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    // One million 'a', fed in uneven pieces across block boundaries.
    Sha256 s;
    std::string chunk(977, 'a');
    std::size_t left = 1000000;
    while (left > 0) {
        std::size_t n = std::min(left, chunk.size());
        s.update(std::string_view(chunk.data(), n));
        left -= n;
    }
    EXPECT_EQ(hex(s.finish()), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, HmacRfc4231) {
    EXPECT_EQ(hex(hmac_sha256(std::string(20, '\x0b'), "Hi There")),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex(hmac_sha256(std::string(131, '\xaa'),
                              "Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Sha256, ConstantTimeEquality) {
    EXPECT_TRUE(equal_in_constant_time("abc", "abc"));
    EXPECT_FALSE(equal_in_constant_time("abc", "abd"));
    EXPECT_FALSE(equal_in_constant_time("abc", "ab"));
    EXPECT_TRUE(equal_in_constant_time("", ""));
}

TEST(WalMessageTag, BoundToKeyTransactionAndBody) {
    std::string on = encode_wal_message(RepairMode{true});
    std::string off = encode_wal_message(RepairMode{false});
    std::string key(32, 'k');
    std::string tag = wal_message_tag(key, on, 1234);
    EXPECT_EQ(tag.size(), kWalMessageTagSize);
    EXPECT_EQ(tag, wal_message_tag(key, on, 1234));
    EXPECT_NE(tag, wal_message_tag(key, on, 1235));
    EXPECT_NE(tag, wal_message_tag(key, off, 1234));
    EXPECT_NE(tag, wal_message_tag(std::string(32, 'K'), on, 1234));
}

TEST(WalMessageTag, Split) {
    std::string on = encode_wal_message(RepairMode{true});
    std::string tagged = on + std::string(kWalMessageTagSize, 't');
    TaggedPayload p = split_wal_message_tag(tagged);
    EXPECT_EQ(p.body, on);
    EXPECT_EQ(p.tag, std::string(kWalMessageTagSize, 't'));
    EXPECT_EQ(std::get<RepairMode>(decode_wal_message(p.body)), RepairMode{true});
    // Untagged payloads (what pg_logical_emit_message() callers and Spock 5 write).
    p = split_wal_message_tag(on);
    EXPECT_EQ(p.body, on);
    EXPECT_TRUE(p.tag.empty());
    std::string event = encode_wal_message(SyncEvent{7, ""});
    p = split_wal_message_tag(event);
    EXPECT_EQ(p.body, event);
    EXPECT_TRUE(p.tag.empty());
}

}  // namespace
