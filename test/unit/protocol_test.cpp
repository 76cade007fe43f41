// The native protocol codec: exact byte layouts written by hand from reference §5.3, round
// trips of every message and column format, and malformed input of every kind.
#include "spock/core/protocol.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

#include "spock/core/error.hpp"
#include "spock/core/wal_message.hpp"

namespace {

using namespace spock::core;

// Hand-written wire bytes: raw() appends byte values, str() appends text without a NUL, so
// every NUL and length in an expected message is spelled out in the test.
class Wire {
  public:
    Wire& raw(std::initializer_list<int> bytes) {
        for (int b : bytes) {
            s_.push_back(static_cast<char>(b));
        }
        return *this;
    }
    Wire& str(std::string_view text) {
        s_.append(text);
        return *this;
    }
    const std::string& bytes() const { return s_; }
    operator std::string() const { return s_; }

  private:
    std::string s_;
};

// Expects decode_message to raise a protocol violation whose text contains needle.
void expect_violation(const std::string& bytes, std::string_view needle) {
    try {
        (void)decode_message(bytes);
        ADD_FAILURE() << "decoded without error; expected: " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "08P01") << e.what();
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
            << "message: " << e.what() << "\nexpected to contain: " << needle;
    }
}

constexpr RelId kRelid = 16385;  // 0x00004001

// ----- hand-written layouts ---------------------------------------------------------------

const std::string kBeginBytes = Wire()
                                    .raw({'B', 0x00})
                                    .raw({0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x74, 0xD8})
                                    .raw({0x00, 0x02, 0x9E, 0x5B, 0x1C, 0x3A, 0x40, 0x00})
                                    .raw({0xDE, 0xAD, 0xBE, 0xEF});
const Begin kBegin{Lsn{0x116B374D8}, TimestampUs{0x00029E5B1C3A4000}, 0xDEADBEEF};

const std::string kOriginBytes =
    Wire().raw({'O', 0x00}).raw({0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04}).raw({0xC2, 0x2C});
const Origin kOrigin{Lsn{0x01020304}, 49708};

const std::string kCommitOrderBytes =
    Wire().raw({'L', 0x00}).raw({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE});
const CommitOrder kCommitOrder{TimestampUs{-2}};

const std::string kRelationBytes = Wire()
                                       .raw({'R', 0x00})
                                       .raw({0x00, 0x00, 0x40, 0x01})
                                       .raw({7})
                                       .str("public")
                                       .raw({0x00})
                                       .raw({3})
                                       .str("t1")
                                       .raw({0x00})
                                       .raw({'A', 0x00, 0x02})
                                       .raw({'C', 0x01, 'N', 0x00, 0x03})
                                       .str("id")
                                       .raw({0x00})
                                       .raw({0x00, 0x00, 0x00, 0x17})
                                       .raw({0xFF, 0xFF, 0xFF, 0xFF})
                                       .raw({'C', 0x00, 'N', 0x00, 0x05})
                                       .str("data")
                                       .raw({0x00})
                                       .raw({0x00, 0x00, 0x04, 0x13})
                                       .raw({0x00, 0x00, 0x00, 0x24});
const Relation kRelation{kRelid, "public", "t1", {{"id", 23, -1, true}, {"data", 1043, 36, false}}};

const std::string kInsertBytes = Wire()
                                     .raw({'I', 0x00, 0x00, 0x00, 0x40, 0x01, 'N'})
                                     .raw({'T', 0x00, 0x04})
                                     .raw({'i', 0x00, 0x00, 0x00, 0x04, 0x2A, 0x00, 0x00, 0x00})
                                     .raw({'t', 0x00, 0x00, 0x00, 0x04})
                                     .str("abc")
                                     .raw({0x00})
                                     .raw({'n'})
                                     .raw({'b', 0x00, 0x00, 0x00, 0x00});
const Insert kInsert{kRelid,
                     {{{ColumnKind::Internal, std::string("\x2A\0\0\0", 4)},
                       {ColumnKind::Text, "abc"},
                       {ColumnKind::Null, ""},
                       {ColumnKind::Binary, ""}}}};

const std::string kUpdateBytes = Wire()
                                     .raw({'U', 0x00, 0x00, 0x00, 0x40, 0x01})
                                     .raw({'K', 'T', 0x00, 0x02})
                                     .raw({'t', 0x00, 0x00, 0x00, 0x02, '1', 0x00})
                                     .raw({'n'})
                                     .raw({'N', 'T', 0x00, 0x02})
                                     .raw({'t', 0x00, 0x00, 0x00, 0x02, '2', 0x00})
                                     .raw({'u'});
const Update kUpdate{
    kRelid,
    OldTuple{OldTupleKind::Key, {{{ColumnKind::Text, "1"}, {ColumnKind::Null, ""}}}},
    {{{ColumnKind::Text, "2"}, {ColumnKind::Unchanged, ""}}}};

const std::string kUpdateNoOldBytes = Wire()
                                          .raw({'U', 0x00, 0x00, 0x00, 0x40, 0x01})
                                          .raw({'N', 'T', 0x00, 0x01})
                                          .raw({'t', 0x00, 0x00, 0x00, 0x01, 0x00});
const Update kUpdateNoOld{kRelid, std::nullopt, {{{ColumnKind::Text, ""}}}};

const std::string kDeleteBytes = Wire()
                                     .raw({'D', 0x00, 0x00, 0x00, 0x40, 0x01})
                                     .raw({'K', 'T', 0x00, 0x01})
                                     .raw({'b', 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x07});
const Delete kDelete{
    kRelid, OldTuple{OldTupleKind::Key, {{{ColumnKind::Binary, std::string("\0\0\0\x07", 4)}}}}};

const std::string kTruncateBytes = Wire()
                                       .raw({'T', 0x00, 0x00, 0x00, 0x02, 0x03})
                                       .raw({0x00, 0x00, 0x40, 0x01, 0x00, 0x00, 0x40, 0x02});
const Truncate kTruncate{{16385, 16386}, true, true};

const std::string kMessageBytes = Wire()
                                      .raw({'M', 0x00, 0x00, 0x00, 0x00})
                                      .raw({0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x28})
                                      .raw({0x00})
                                      .str("Spock")
                                      .raw({0x00})
                                      .raw({0x00, 0x00, 0x00, 0x03})
                                      .str("xyz");
const LogicalMessage kMessage{0, Lsn{0x05000028}, false, "Spock", "xyz"};

const std::string kCommitBytes = Wire()
                                     .raw({'C', 0x00})
                                     .raw({0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x74, 0xD8})
                                     .raw({0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x75, 0x08})
                                     .raw({0x00, 0x02, 0x9E, 0x5B, 0x1C, 0x3A, 0x40, 0x00})
                                     .raw({0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00});
const Commit kCommit{Lsn{0x116B374D8}, Lsn{0x116B37508}, TimestampUs{0x00029E5B1C3A4000},
                     Lsn{0x200000000}};

const std::string kStartupBytes = Wire()
                                      .raw({'S', 0x01})
                                      .str("max_proto_version")
                                      .raw({0x00})
                                      .str("4")
                                      .raw({0x00})
                                      .str("no_txinfo")
                                      .raw({0x00})
                                      .raw({0x00});
const Startup kStartup{{{"max_proto_version", "4"}, {"no_txinfo", ""}}};

const std::string kStreamStartBytes = Wire().raw({'E', 0x01, 0x00, 0x00, 0x03, 0xE9});
const StreamStart kStreamStart{1001, true};

const std::string kStreamXidBytes = Wire().raw({'Y', 0x00, 0x00, 0x00, 0x03, 0xEA});
const StreamXid kStreamXid{1002};

const std::string kStreamStopBytes = Wire().raw({'Z', 0x00});
const StreamStop kStreamStop{};

const std::string kStreamCommitBytes = Wire()
                                           .raw({'c', 0x00})
                                           .raw({0xDE, 0xAD, 0xBE, 0xEF})
                                           .raw({0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x74, 0xD8})
                                           .raw({0x00, 0x00, 0x00, 0x01, 0x16, 0xB3, 0x75, 0x08})
                                           .raw({0x00, 0x02, 0x9E, 0x5B, 0x1C, 0x3A, 0x40, 0x00})
                                           .raw({0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04})
                                           .raw({0xC2, 0x2C})
                                           .raw({0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00});
const StreamCommit kStreamCommit{0xDEADBEEF,       Lsn{0x116B374D8},
                                 Lsn{0x116B37508}, TimestampUs{0x00029E5B1C3A4000},
                                 Lsn{0x01020304},  49708,
                                 Lsn{0x200000000}};

const std::string kStreamAbortBytes =
    Wire().raw({'A', 0x00, 0x00, 0x00, 0x03, 0xE9, 0x00, 0x00, 0x03, 0xEA});
const StreamAbort kStreamAbort{1001, 1002};

struct Example {
    const char* name;
    const std::string* bytes;
    ProtocolMessage msg;
};

std::vector<Example> examples() {
    return {
        {"begin", &kBeginBytes, kBegin},
        {"origin", &kOriginBytes, kOrigin},
        {"commit_order", &kCommitOrderBytes, kCommitOrder},
        {"relation", &kRelationBytes, kRelation},
        {"insert", &kInsertBytes, kInsert},
        {"update", &kUpdateBytes, kUpdate},
        {"update_no_old", &kUpdateNoOldBytes, kUpdateNoOld},
        {"delete", &kDeleteBytes, kDelete},
        {"truncate", &kTruncateBytes, kTruncate},
        {"message", &kMessageBytes, kMessage},
        {"commit", &kCommitBytes, kCommit},
        {"startup", &kStartupBytes, kStartup},
        {"stream_start", &kStreamStartBytes, kStreamStart},
        {"stream_xid", &kStreamXidBytes, kStreamXid},
        {"stream_stop", &kStreamStopBytes, kStreamStop},
        {"stream_commit", &kStreamCommitBytes, kStreamCommit},
        {"stream_abort", &kStreamAbortBytes, kStreamAbort},
    };
}

TEST(ProtocolLayout, EncoderWritesTheHandWrittenBytes) {
    for (const auto& ex : examples()) {
        EXPECT_EQ(encode_message(ex.msg), *ex.bytes) << ex.name;
    }
}

TEST(ProtocolLayout, DecoderReadsTheHandWrittenBytes) {
    for (const auto& ex : examples()) {
        EXPECT_EQ(decode_message(*ex.bytes), ex.msg) << ex.name;
    }
}

TEST(ProtocolLayout, MessageSizes) {
    EXPECT_EQ(kBeginBytes.size(), 22U);
    EXPECT_EQ(kOriginBytes.size(), 12U);
    EXPECT_EQ(kCommitOrderBytes.size(), 10U);
    EXPECT_EQ(kCommitBytes.size(), 34U);
    EXPECT_EQ(kTruncateBytes.size(), 14U);
}

TEST(ProtocolLayout, TypeBytesAndNames) {
    for (const auto& ex : examples()) {
        EXPECT_EQ(message_type(ex.msg), (*ex.bytes)[0]) << ex.name;
        EXPECT_NE(message_type_name(message_type(ex.msg)), "unknown") << ex.name;
    }
    EXPECT_EQ(message_type_name('R'), "RELATION");
    EXPECT_EQ(message_type_name('x'), "unknown");
}

TEST(ProtocolLayout, FlagsByteIsIgnoredOnInput) {
    std::string b = kBeginBytes;
    b[1] = '\x7f';
    EXPECT_EQ(decode_message(b), ProtocolMessage(kBegin));
    std::string r = kRelationBytes;
    r[22] = '\xff';  // column flags: only bit 0 counts
    EXPECT_EQ(decode_message(r), ProtocolMessage(kRelation));
}

TEST(ProtocolLayout, StreamMessages) {
    EXPECT_EQ(kStreamCommitBytes.size(), 48U);
    EXPECT_EQ(message_type_name('E'), "STREAM START");
    EXPECT_EQ(message_type_name('c'), "STREAM COMMIT");
    // STREAM START: bit 0 of the flags is the first-segment flag, the other bits are ignored.
    std::string later = kStreamStartBytes;
    later[1] = '\x00';
    EXPECT_EQ(decode_message(later), ProtocolMessage(StreamStart{1001, false}));
    later[1] = '\xfe';
    EXPECT_EQ(decode_message(later), ProtocolMessage(StreamStart{1001, false}));
    later[1] = '\x03';
    EXPECT_EQ(decode_message(later), ProtocolMessage(StreamStart{1001, true}));
    expect_violation(Wire().raw({'A', 0x00, 0x00, 0x00, 0x03, 0xE9}),
                     "malformed STREAM ABORT message: subxid needs 4 bytes, only 0 remain at "
                     "offset 6");
}

TEST(ProtocolLayout, OldTupleMarkerOIsAccepted) {
    std::string u = kUpdateBytes;
    u[6] = 'O';
    Update expected = kUpdate;
    expected.old_tuple->kind = OldTupleKind::Old;
    EXPECT_EQ(decode_message(u), ProtocolMessage(expected));
    EXPECT_EQ(encode_message(expected), u);

    std::string d = kDeleteBytes;
    d[6] = 'O';
    Delete del = kDelete;
    del.old_tuple.kind = OldTupleKind::Old;
    EXPECT_EQ(decode_message(d), ProtocolMessage(del));
    EXPECT_EQ(encode_message(del), d);
}

TEST(ProtocolLayout, TruncateFlagBits) {
    for (int flags = 0; flags < 4; ++flags) {
        Truncate t{{1}, (flags & 1) != 0, (flags & 2) != 0};
        std::string bytes = encode_message(t);
        ASSERT_EQ(bytes.size(), 10U);
        EXPECT_EQ(bytes[5], static_cast<char>(flags));
        EXPECT_EQ(decode_message(bytes), ProtocolMessage(t));
    }
    std::string extra = kTruncateBytes;
    extra[5] = '\xff';  // unknown bits are ignored
    EXPECT_EQ(decode_message(extra), ProtocolMessage(kTruncate));
}

// ----- round trips ---------------------------------------------------------------------------

void expect_round_trip(const ProtocolMessage& msg) {
    std::string bytes = encode_message(msg);
    EXPECT_EQ(decode_message(bytes), msg);
    std::string again = encode_message(decode_message(bytes));
    EXPECT_EQ(again, bytes);
}

TEST(ProtocolRoundTrip, FixedSizeMessagesAtExtremes) {
    for (std::uint64_t v : {std::uint64_t{0}, std::uint64_t{1}, ~std::uint64_t{0},
                            std::uint64_t{0x8000000000000000}}) {
        auto ts = TimestampUs{static_cast<std::int64_t>(v)};
        expect_round_trip(Begin{Lsn{v}, ts, static_cast<TransactionId>(v)});
        expect_round_trip(Origin{Lsn{v}, static_cast<OriginId>(v)});
        expect_round_trip(CommitOrder{ts});
        expect_round_trip(Commit{Lsn{v}, Lsn{~v}, ts, Lsn{v ^ 0x5555}});
    }
}

TEST(ProtocolRoundTrip, EveryColumnFormat) {
    std::string binary_with_nuls("\0\x01\xff\0", 4);
    TupleData t{{{ColumnKind::Null, ""},
                 {ColumnKind::Internal, binary_with_nuls},
                 {ColumnKind::Internal, ""},
                 {ColumnKind::Binary, binary_with_nuls},
                 {ColumnKind::Binary, std::string(100000, 'x')},
                 {ColumnKind::Text, ""},
                 {ColumnKind::Text, "héllo, wörld"},
                 {ColumnKind::Text, std::string(70000, 'y')}}};
    expect_round_trip(Insert{7, t});
    expect_round_trip(Delete{7, OldTuple{OldTupleKind::Key, t}});
    TupleData with_unchanged = t;
    with_unchanged.columns.push_back({ColumnKind::Unchanged, ""});
    expect_round_trip(Update{7, std::nullopt, with_unchanged});
    expect_round_trip(Update{7, OldTuple{OldTupleKind::Old, t}, with_unchanged});
    expect_round_trip(Insert{0xFFFFFFFF, {}});  // zero columns
}

TEST(ProtocolRoundTrip, MaximumColumnCount) {
    TupleData t;
    Relation rel{1, "s", "r", {}};
    for (std::size_t i = 0; i < kMaxTupleAttributes; ++i) {
        t.columns.push_back({ColumnKind::Text, std::to_string(i)});
        rel.columns.push_back({"c" + std::to_string(i), 25, -1, i % 3 == 0});
    }
    expect_round_trip(Insert{1, t});
    expect_round_trip(rel);
}

TEST(ProtocolRoundTrip, RelationNames) {
    const std::string longest(63, 'n');
    expect_round_trip(
        Relation{1, longest, longest, {{longest, 0xFFFFFFFF, -2147483647 - 1, true}}});
    expect_round_trip(Relation{2, "", "", {{"", 0, 0, false}}});  // the codec allows empty names
    expect_round_trip(Relation{3, "Schéma", "Täble \"x\"", {}});
}

TEST(ProtocolRoundTrip, TruncateMessageAndStartup) {
    expect_round_trip(Truncate{{}, false, false});
    std::vector<RelId> many;
    for (RelId i = 0; i < 1000; ++i) {
        many.push_back(i * 7919);
    }
    expect_round_trip(Truncate{many, false, true});
    expect_round_trip(LogicalMessage{0, Lsn{1}, false, "", ""});
    expect_round_trip(LogicalMessage{12345, Lsn{~std::uint64_t{0}}, true, "Spock",
                                     std::string("\0\0\0\x03", 4) + std::string(68, '\0')});
    expect_round_trip(LogicalMessage{1, Lsn{2}, true, "other prefix", std::string(1 << 20, 'p')});
    expect_round_trip(Startup{});
    expect_round_trip(Startup{{{"a", ""}, {"b", "c"}, {"a", "again"}}});
}

// ----- encoder preconditions ---------------------------------------------------------------

void expect_encode_error(const ProtocolMessage& msg, std::string_view needle) {
    std::string out = "prefix";
    try {
        encode(out, msg);
        ADD_FAILURE() << "encoded without error; expected: " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "XX000");
        EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_EQ(out, "prefix") << "a failed encode must leave the buffer as it was";
}

TEST(ProtocolEncode, RejectsWhatCannotBeSent) {
    const std::string name64(64, 'n');
    expect_encode_error(Relation{1, name64, "r", {}}, "schema name");
    expect_encode_error(Relation{1, "s", name64, {}}, "relation name");
    expect_encode_error(Relation{1, "s", "r", {{"ok", 1, 1, false}, {name64, 1, 1, false}}},
                        "column name");
    expect_encode_error(Relation{1, std::string("a\0b", 3), "r", {}}, "NUL");
    expect_encode_error(Relation{1, "s", "r", std::vector<RelationColumn>(1665)}, "1665 columns");
    TupleData too_wide{std::vector<ColumnValue>(1665)};
    expect_encode_error(Insert{1, too_wide}, "1665 columns");
    TupleData nul_text{{{ColumnKind::Text, std::string("a\0b", 3)}}};
    expect_encode_error(Insert{1, nul_text}, "NUL");
    TupleData unchanged{{{ColumnKind::Text, "x"}, {ColumnKind::Unchanged, ""}}};
    expect_encode_error(Insert{1, unchanged}, "unchanged");
    expect_encode_error(Delete{1, OldTuple{OldTupleKind::Key, unchanged}}, "unchanged");
    expect_encode_error(Update{1, OldTuple{OldTupleKind::Key, unchanged}, {}}, "unchanged");
    TupleData null_with_value{{{ColumnKind::Null, "x"}}};
    expect_encode_error(Insert{1, null_with_value}, "carries no value");
    expect_encode_error(Startup{{{"", "v"}}}, "empty parameter name");
    expect_encode_error(Startup{{{"k", std::string("v\0", 2)}}}, "NUL");
    expect_encode_error(LogicalMessage{0, Lsn{1}, false, std::string("Sp\0ck", 5), ""}, "prefix");
}

TEST(ProtocolEncode, AppendsToExistingBuffer) {
    std::string out;
    encode(out, ProtocolMessage(kBegin));
    encode(out, ProtocolMessage(kOrigin));
    EXPECT_EQ(out, kBeginBytes + kOriginBytes);
}

TEST(ProtocolEncode, StreamingColumnsMatchTupleEncoding) {
    std::string streamed = Wire().raw({'I', 0x00, 0x00, 0x00, 0x40, 0x01, 'N'});
    encode_tuple_header(streamed, 4);
    encode_column(streamed, ColumnKind::Internal, std::string("\x2A\0\0\0", 4));
    encode_column(streamed, ColumnKind::Text, "abc");
    encode_column(streamed, ColumnKind::Null, "");
    encode_column(streamed, ColumnKind::Binary, "");
    EXPECT_EQ(streamed, kInsertBytes);
}

// ----- malformed input -----------------------------------------------------------------------

TEST(ProtocolMalformed, EveryTruncationThrows) {
    for (const auto& ex : examples()) {
        const std::string& full = *ex.bytes;
        for (std::size_t len = 0; len < full.size(); ++len) {
            std::string prefix = full.substr(0, len);
            // A startup message cut right after a complete value is itself valid.
            if (ex.msg.index() == ProtocolMessage(Startup{}).index() && len > 1 &&
                prefix.back() == '\0') {
                std::size_t nuls = 0;
                for (std::size_t i = 2; i < len; ++i) {
                    nuls += prefix[i] == '\0';
                }
                if (nuls % 2 == 0) {
                    EXPECT_NO_THROW((void)decode_message(prefix)) << ex.name << " len " << len;
                    continue;
                }
            }
            if (len == 2 && ex.msg.index() == ProtocolMessage(Startup{}).index()) {
                EXPECT_NO_THROW((void)decode_message(prefix));  // 'S' 1 with no parameters
                continue;
            }
            EXPECT_THROW((void)decode_message(prefix), Error) << ex.name << " len " << len;
        }
    }
}

TEST(ProtocolMalformed, TrailingBytesThrow) {
    for (const auto& ex : examples()) {
        if (ex.msg.index() == ProtocolMessage(Startup{}).index()) {
            continue;  // extra bytes there start another parameter; tested below
        }
        expect_violation(*ex.bytes + "x", "unexpected trailing bytes");
    }
    expect_violation(kBeginBytes + "xy",
                     "malformed BEGIN message: 2 unexpected trailing bytes at "
                     "offset 22");
}

TEST(ProtocolMalformed, TypeBytes) {
    expect_violation("", "malformed message: empty message at offset 0");
    expect_violation("X", "malformed message: unknown message type 'X' at offset 0");
    expect_violation(std::string("\0", 1), "unknown message type 0x00");
    expect_violation("w", "unknown message type 'w'");
    expect_violation("k", "unknown message type 'k'");
}

TEST(ProtocolMalformed, ErrorTextNamesFieldAndOffset) {
    std::string b = kBeginBytes.substr(0, 10);
    expect_violation(b,
                     "malformed BEGIN message: commit_time needs 8 bytes, only 0 remain at "
                     "offset 10");
    b = kBeginBytes.substr(0, 9);
    expect_violation(b,
                     "malformed BEGIN message: final_lsn needs 8 bytes, only 7 remain at "
                     "offset 2");
    std::string r = kRelationBytes.substr(0, 29);
    r[25] = 20;  // column name length 20 with 3 bytes left
    expect_violation(r,
                     "malformed RELATION message: column name length 20 exceeds the 3 "
                     "remaining bytes at offset 24");
}

TEST(ProtocolMalformed, RelationMarkersAndLengths) {
    auto with = [](std::size_t at, int byte) {
        std::string r = kRelationBytes;
        r[at] = static_cast<char>(byte);
        return r;
    };
    expect_violation(with(6, 0), "schema name length is 0");
    expect_violation(with(6, 65), "schema name length 65 exceeds 64");
    expect_violation(with(6, 6), "schema name is not NUL-terminated");
    expect_violation(with(9, 0), "schema name contains a NUL byte");
    expect_violation(with(14, 0), "relation name length is 0");
    expect_violation(with(14, 200), "relation name length 200 exceeds 64");
    expect_violation(with(18, 'B'), "expected attributes marker 'A', found 'B'");
    expect_violation(with(19, 0x06), "column needs 1 bytes, only 0 remain");  // 1538 columns
    expect_violation(with(19, 0x07), "column count 1794 exceeds the maximum 1664");
    expect_violation(with(21, 'X'), "expected column marker 'C', found 'X'");
    expect_violation(with(23, 'M'), "expected column name marker 'N', found 'M'");
    expect_violation(with(25, 70), "column name length 70 exceeds 64");
    expect_violation(with(25, 0), "column name length is 0");
    expect_violation(with(24, 1), "column name length 259 exceeds 64");
    expect_violation(with(28, 'x'), "column name is not NUL-terminated");
}

TEST(ProtocolMalformed, TupleMarkersAndLengths) {
    auto with = [](const std::string& base, std::size_t at, int byte) {
        std::string s = base;
        s[at] = static_cast<char>(byte);
        return s;
    };
    // INSERT layout: 'I' 0 relid(2..5) 'N'(6) 'T'(7) natts(8..9) 'i'(10) len(11..14) ...
    expect_violation(with(kInsertBytes, 6, 'K'), "expected new tuple marker 'N', found 'K'");
    expect_violation(with(kInsertBytes, 7, 'X'), "expected tuple marker 'T', found 'X'");
    expect_violation(with(kInsertBytes, 8, 0x07), "tuple column count 1796 exceeds the maximum");
    expect_violation(with(kInsertBytes, 9, 0x05), "column 5 kind needs 1 bytes, only 0 remain");
    expect_violation(with(kInsertBytes, 10, 'x'), "unknown kind 'x' for column 1 at offset 10");
    expect_violation(with(kInsertBytes, 10, 'u'), "column 1 is an unchanged toasted value");
    expect_violation(with(kInsertBytes, 11, 0x80), "column 1 length -2147483644 is negative");
    expect_violation(with(kInsertBytes, 14, 0x7F), "column 1 length 127 exceeds the 19 remaining");
    // text column: 't'(19) len(20..23) "abc\0"(24..27)
    expect_violation(with(kInsertBytes, 23, 0), "column 2 text length is 0");
    expect_violation(with(kInsertBytes, 27, 'd'), "column 2 text is not NUL-terminated");
    expect_violation(with(kInsertBytes, 25, 0), "column 2 text contains a NUL byte");
    expect_violation(with(kInsertBytes, 23, 3), "column 2 text is not NUL-terminated");

    // UPDATE: marker at 6; old tuple columns may not be 'u'; new tuple marker must be 'N'.
    expect_violation(with(kUpdateBytes, 6, 'X'),
                     "expected tuple marker 'K', 'O' or 'N', found 'X'");
    expect_violation(with(kUpdateBytes, 17, 'u'), "column 2 is an unchanged toasted value");
    expect_violation(with(kUpdateBytes, 18, 'K'), "expected new tuple marker 'N', found 'K'");
    // DELETE needs an old tuple.
    expect_violation(with(kDeleteBytes, 6, 'N'), "expected old tuple marker 'K' or 'O', found 'N'");
    expect_violation(with(kDeleteBytes, 10, 'u'), "column 1 is an unchanged toasted value");
}

TEST(ProtocolMalformed, TruncateCounts) {
    expect_violation(Wire().raw({'T', 0xFF, 0xFF, 0xFF, 0xFF, 0x00}),
                     "malformed TRUNCATE message: relation count -1 is negative at offset 1");
    expect_violation(Wire().raw({'T', 0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0, 0, 0, 1}),
                     "relation count 2147483647 needs 8589934588 bytes, only 4 remain");
    expect_violation(Wire().raw({'T', 0x00, 0x00, 0x00, 0x01, 0x00, 0, 0, 0, 1, 0}),
                     "1 unexpected trailing bytes at offset 10");
    expect_violation(Wire().raw({'T', 0x00, 0x00, 0x00, 0x01, 0x00, 0, 0, 0}),
                     "relation count 1 needs 4 bytes, only 3 remain");
}

TEST(ProtocolMalformed, LogicalMessageFields) {
    auto with = [](std::size_t at, int byte) {
        std::string s = kMessageBytes;
        s[at] = static_cast<char>(byte);
        return s;
    };
    // 'M' xid(1..4) lsn(5..12) transactional(13) "Spock\0"(14..19) size(20..23) payload(24..26)
    expect_violation(with(13, 2), "transactional flag 2 is neither 0 nor 1 at offset 13");
    expect_violation(kMessageBytes.substr(0, 19),
                     "prefix is not NUL-terminated within the 5 remaining bytes at offset 14");
    expect_violation(with(20, 0xFF), "payload size -16777213 is negative");
    expect_violation(with(23, 4), "payload size 4 exceeds the 3 remaining bytes at offset 20");
    expect_violation(with(23, 2), "1 unexpected trailing bytes");
}

TEST(ProtocolMalformed, StartupParameters) {
    expect_violation(Wire().raw({'S'}), "startup format needs 1 bytes");
    expect_violation(Wire().raw({'S', 0x02}),
                     "unsupported startup format 2, expected 1 at "
                     "offset 1");
    expect_violation(Wire().raw({'S', 0x01, 0x00, 'v', 0x00}), "empty parameter name at offset 2");
    expect_violation(Wire().raw({'S', 0x01, 'k', 0x00}),
                     "parameter \"k\" has no value at offset 4");
    expect_violation(Wire().raw({'S', 0x01, 'k', 0x00, 'v'}),
                     "value of parameter \"k\" is not NUL-terminated");
    expect_violation(Wire().raw({'S', 0x01, 'k'}), "parameter name is not NUL-terminated");
    expect_violation(Wire().raw({'S', 0x01, 0x01, 0x00}), "parameter \"\\x01\" has no value");
}

// Any byte changed to any of a few values: the decoder either throws core::Error or yields a
// message that encodes back to something it decodes identically.
TEST(ProtocolMalformed, SingleByteMutationsNeverCrash) {
    for (const auto& ex : examples()) {
        for (std::size_t i = 0; i < ex.bytes->size(); ++i) {
            for (int v : std::initializer_list<int>{0x00, 0x01, 0x7F, 0x80, 0xFF, 'K', 'N', 'T',
                                                    'u', 't'}) {
                std::string m = *ex.bytes;
                m[i] = static_cast<char>(v);
                try {
                    ProtocolMessage msg = decode_message(m);
                    EXPECT_EQ(decode_message(encode_message(msg)), msg) << ex.name << " @" << i;
                } catch (const Error& e) {
                    EXPECT_EQ(e.sqlstate(), "08P01");
                }
            }
        }
    }
}

// Writes the examples as a libFuzzer seed corpus when SPOCK_WRITE_FUZZ_CORPUS names a
// directory (used to create test/fuzz/corpus/).
TEST(ProtocolFuzzCorpus, WriteWhenRequested) {
    const char* dir = std::getenv("SPOCK_WRITE_FUZZ_CORPUS");
    if (dir == nullptr || *dir == '\0') {
        GTEST_SKIP() << "set SPOCK_WRITE_FUZZ_CORPUS=<dir> to write the seed corpus";
    }
    std::filesystem::create_directories(dir);
    auto write = [dir](const std::string& name, const std::string& bytes) {
        std::ofstream f(std::filesystem::path(dir) / (name + ".bin"),
                        std::ios::binary | std::ios::trunc);
        f << bytes;
        ASSERT_TRUE(f.good()) << name;
    };
    for (const auto& ex : examples()) {
        write(ex.name, *ex.bytes);
    }
    const std::string sync_event = encode_wal_message(SyncEvent{49708, ""});
    write("wal_sync_event", sync_event);
    write("wal_repair_on", encode_wal_message(RepairMode{true}));
    write("message_sync_event",
          encode_message(LogicalMessage{0, Lsn{0x3000060}, false, "Spock", sync_event}));
}

}  // namespace
