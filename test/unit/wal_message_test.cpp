// "Spock" logical WAL message payloads (reference §5.6).
#include "spock/core/wal_message.hpp"

#include <gtest/gtest.h>

#include <bit>
#include <string>

#include "spock/core/error.hpp"

namespace {

using namespace spock::core;

// The payloads are native-endian C structs; these expectations are for little-endian hosts.
bool little_endian() {
    return std::endian::native == std::endian::little;
}

TEST(WalMessage, RepairModeLayout) {
    if (!little_endian()) {
        GTEST_SKIP() << "byte expectations written for little-endian hosts";
    }
    EXPECT_EQ(encode_wal_message(RepairMode{true}), std::string("\x01\0\0\0", 4));
    EXPECT_EQ(encode_wal_message(RepairMode{false}), std::string("\x02\0\0\0", 4));
}

TEST(WalMessage, SyncEventLayout) {
    if (!little_endian()) {
        GTEST_SKIP() << "byte expectations written for little-endian hosts";
    }
    std::string expected("\x03\0\0\0\x2C\xC2\0\0", 8);
    expected.append(64, '\0');
    std::string bytes = encode_wal_message(SyncEvent{49708, ""});
    EXPECT_EQ(bytes.size(), kSyncEventMessageSize);
    EXPECT_EQ(bytes, expected);

    std::string named = encode_wal_message(SyncEvent{1, "ev"});
    EXPECT_EQ(named.substr(8, 3), std::string("ev\0", 3));
    EXPECT_EQ(named.size(), 72U);
}

TEST(WalMessage, RoundTrips) {
    for (const WalMessage& m :
         {WalMessage(RepairMode{true}), WalMessage(RepairMode{false}), WalMessage(SyncEvent{0, ""}),
          WalMessage(SyncEvent{0xFFFFFFFF, ""}), WalMessage(SyncEvent{7, std::string(63, 'n')})}) {
        EXPECT_EQ(decode_wal_message(encode_wal_message(m)), m);
    }
}

TEST(WalMessage, BytesAfterTheNameNulAreIgnored) {
    std::string bytes = encode_wal_message(SyncEvent{5, "ab"});
    bytes[8 + 10] = 'z';
    EXPECT_EQ(decode_wal_message(bytes), WalMessage(SyncEvent{5, "ab"}));
}

void expect_malformed(const std::string& payload, std::string_view needle) {
    try {
        (void)decode_wal_message(payload);
        ADD_FAILURE() << "decoded; expected " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "08P01");
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
}

TEST(WalMessage, Malformed) {
    if (!little_endian()) {
        GTEST_SKIP() << "byte expectations written for little-endian hosts";
    }
    expect_malformed("", "payload of 0 bytes is too short");
    expect_malformed(std::string("\x01\0\0", 3), "payload of 3 bytes is too short");
    expect_malformed(std::string("\x01\0\0\0\0", 5), "message type 1 needs a payload of 4 bytes");
    expect_malformed(std::string("\x04\0\0\0", 4), "unknown message type 4");
    expect_malformed(std::string("\0\0\0\0", 4), "unknown message type 0");
    std::string event = encode_wal_message(SyncEvent{1, ""});
    expect_malformed(event.substr(0, 71), "message type 3 needs a payload of 72 bytes, got 71");
    expect_malformed(event + "x", "got 73");
    std::string unterminated = event;
    for (std::size_t i = 8; i < 72; ++i) {
        unterminated[i] = 'a';
    }
    expect_malformed(unterminated, "not NUL-terminated within 64 bytes");
}

TEST(WalMessage, EncoderRejectsLongNames) {
    EXPECT_THROW((void)encode_wal_message(SyncEvent{1, std::string(64, 'n')}), Error);
    EXPECT_THROW((void)encode_wal_message(SyncEvent{1, std::string("a\0b", 3)}), Error);
}

TEST(WalMessage, SyncEventIn) {
    std::optional<SyncEvent> ev = sync_event_in(encode_wal_message(SyncEvent{42, ""}));
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(ev->origin, 42U);

    std::string problem;
    EXPECT_FALSE(sync_event_in(encode_wal_message(RepairMode{true}), &problem).has_value());
    EXPECT_TRUE(problem.empty()) << "another message type is not a problem";
    std::string tagged = encode_wal_message(RepairMode{false}) + std::string(32, 't');
    EXPECT_FALSE(sync_event_in(tagged, &problem).has_value());
    EXPECT_TRUE(problem.empty());

    EXPECT_FALSE(sync_event_in(std::string("\x03\0\0\0", 4), &problem).has_value());
    EXPECT_NE(problem.find("72"), std::string::npos) << problem;
    problem.clear();
    EXPECT_FALSE(sync_event_in("", &problem).has_value());
    EXPECT_FALSE(problem.empty());
}

}  // namespace
