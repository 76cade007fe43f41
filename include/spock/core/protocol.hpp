// The Spock 5 native protocol: the payload of each XLogData ('w') CopyData message that the
// spock_output plugin sends and the apply worker reads (reference §5.2-5.3).
//
// Every message starts with a type byte. Integers are big-endian. Messages B, O, L, R, I, U, D
// and C carry a "flags" byte after the type byte that Spock always sets to 0 and never reads:
// we write 0 and ignore it when reading, so it is not part of the structs. S, T and M have no
// flags byte.
//
// Readings chosen where the reference text leaves room (all match what Spock's own writer
// produces, and the decoder rejects anything else rather than guess):
//  * RELATION: the u8 lengths of the namespace and relation names both count the terminating
//    NUL, and the NUL is sent; likewise the u16 column-name length. A length of 0 (no room for
//    the NUL), a missing NUL or a NUL inside the name is malformed; so is a length above 64
//    (NAMEDATALEN), which no PostgreSQL name can need.
//  * RELATION column flags: only bit 0 (replica identity column) has a meaning; other bits are
//    ignored, like the message flags byte.
//  * Tuple 't' columns: the i32 length counts the text and its terminating NUL, so it is at
//    least 1, the last byte must be NUL and no other byte may be (typoutput text never contains
//    NUL; the reader uses it as a C string). TupleData keeps the text without the NUL.
//  * Tuple 'i' and 'b' columns: the i32 length is the exact count of bytes that follow; 0 is
//    allowed (e.g. an empty bytea in send format).
//  * 'u' (unchanged toasted value) is accepted only in the new tuple of an UPDATE, the only place
//    a WAL tuple can hold a toast pointer; old tuples are flattened by PostgreSQL when logged.
//  * UPDATE/DELETE old tuples: 'K' and 'O' are both accepted and remembered, 'K' is what Spock
//    sends.
//  * TRUNCATE flags: bit 0 CASCADE, bit 1 RESTART IDENTITY; other bits are ignored. nrelids must
//    be >= 0 and the relids must fill the rest of the message exactly.
//  * MESSAGE: the transactional byte must be 0 or 1 (a C bool); the prefix is a NUL-terminated
//    string (no length limit but the message); size is >= 0 and the payload ends the message.
//  * STARTUP: the format byte must be 1; then zero or more key/value pairs, each a NUL-terminated
//    string. A key must be non-empty and followed by a value (which may be empty), as the
//    subscriber requires.
//  * Every message must be consumed exactly: trailing bytes are malformed.
//  * natts (RELATION attrs block and tuples) is at most 1664 (MaxTupleAttributeNumber).
//
// Streaming of in-progress transactions (ours; sent only to a subscriber that asked with the
// startup option spock.stream_in_progress, so a Spock peer never sees them). Each has the
// flags byte; layouts are in docs/protocol.md ("Streamed transactions"):
//   E STREAM START   flags (bit 0: first segment of this xid), u32 xid
//   Y STREAM XID     flags, u32 xid of the (sub)transaction the following changes belong to
//   Z STREAM STOP    flags
//   c STREAM COMMIT  flags, u32 xid, u64 commit_lsn, u64 end_lsn, i64 commit_time,
//                    u64 origin_lsn, u16 origin node id, u64 remote_insert_lsn
//   A STREAM ABORT   flags, u32 xid, u32 subxid (== xid when the whole transaction aborted)
// Between E and Z only R, I, U, D, T, M and Y may appear; they belong to the streamed xid.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "spock/core/lsn.hpp"

namespace spock::core {

using RelId = std::uint32_t;          // provider-side pg_class OID
using TypeOid = std::uint32_t;        // pg_type OID
using TransactionId = std::uint32_t;  // 32-bit xid
using OriginId = std::uint16_t;       // RepOriginId; on the wire the spock node id of the origin

// Type bytes of the top-level messages.
namespace msgtype {
inline constexpr char kStartup = 'S';
inline constexpr char kBegin = 'B';
inline constexpr char kOrigin = 'O';
inline constexpr char kCommitOrder = 'L';
inline constexpr char kRelation = 'R';
inline constexpr char kInsert = 'I';
inline constexpr char kUpdate = 'U';
inline constexpr char kDelete = 'D';
inline constexpr char kTruncate = 'T';
inline constexpr char kMessage = 'M';
inline constexpr char kCommit = 'C';
// Streaming of in-progress transactions (ours).
inline constexpr char kStreamStart = 'E';
inline constexpr char kStreamXid = 'Y';
inline constexpr char kStreamStop = 'Z';
inline constexpr char kStreamCommit = 'c';
inline constexpr char kStreamAbort = 'A';
}  // namespace msgtype

// Markers inside messages.
namespace marker {
inline constexpr char kAttrs = 'A';     // RELATION attrs block
inline constexpr char kColumn = 'C';    // RELATION column
inline constexpr char kName = 'N';      // RELATION column name; also "new tuple follows"
inline constexpr char kTuple = 'T';     // tuple block
inline constexpr char kKey = 'K';       // old tuple: replica identity key
inline constexpr char kOldTuple = 'O';  // old tuple: accepted in place of 'K'
}  // namespace marker

inline constexpr std::uint8_t kStartupFormat = 1;
inline constexpr std::size_t kMaxTupleAttributes = 1664;  // MaxTupleAttributeNumber
inline constexpr std::size_t kMaxNameBytesWithNul = 64;   // NAMEDATALEN
inline constexpr std::uint8_t kRelationColumnIsKey = 0x01;
inline constexpr std::uint8_t kTruncateCascade = 0x01;
inline constexpr std::uint8_t kTruncateRestartIdentity = 0x02;
inline constexpr std::uint8_t kStreamFirstSegment = 0x01;

struct Startup {
    std::vector<std::pair<std::string, std::string>> params;  // in wire order

    bool operator==(const Startup&) const = default;
};

struct Begin {
    Lsn final_lsn;  // LSN of the commit record
    TimestampUs commit_time;
    TransactionId xid = 0;

    bool operator==(const Begin&) const = default;
};

struct Origin {
    Lsn origin_lsn;
    OriginId origin_id = 0;

    bool operator==(const Origin&) const = default;
};

struct CommitOrder {
    TimestampUs last_commit_ts;  // 0 when the slot is not in a slot group

    bool operator==(const CommitOrder&) const = default;
};

struct RelationColumn {
    std::string name;
    TypeOid typid = 0;
    std::int32_t typmod = -1;
    bool is_key = false;  // part of the replica identity

    bool operator==(const RelationColumn&) const = default;
};

struct Relation {
    RelId relid = 0;
    std::string nspname;
    std::string relname;
    std::vector<RelationColumn> columns;

    bool operator==(const Relation&) const = default;
};

enum class ColumnKind : char {
    Null = 'n',
    Unchanged = 'u',  // unchanged toasted value (UPDATE only)
    Internal = 'i',   // raw internal datum bytes
    Binary = 'b',     // typsend output
    Text = 't',       // typoutput text
};

struct ColumnValue {
    ColumnKind kind = ColumnKind::Null;
    std::string bytes;  // empty for Null/Unchanged; for Text the text without its NUL

    bool operator==(const ColumnValue&) const = default;
};

struct TupleData {
    std::vector<ColumnValue> columns;

    bool operator==(const TupleData&) const = default;
};

enum class OldTupleKind : char {
    Key = 'K',  // what Spock sends
    Old = 'O',  // accepted by readers in place of 'K'
};

struct OldTuple {
    OldTupleKind kind = OldTupleKind::Key;
    TupleData tuple;

    bool operator==(const OldTuple&) const = default;
};

struct Insert {
    RelId relid = 0;
    TupleData new_tuple;

    bool operator==(const Insert&) const = default;
};

struct Update {
    RelId relid = 0;
    std::optional<OldTuple> old_tuple;
    TupleData new_tuple;

    bool operator==(const Update&) const = default;
};

struct Delete {
    RelId relid = 0;
    OldTuple old_tuple;

    bool operator==(const Delete&) const = default;
};

struct Truncate {
    std::vector<RelId> relids;
    bool cascade = false;
    bool restart_identity = false;

    bool operator==(const Truncate&) const = default;
};

// A logical decoding message (pg_logical_emit_message / LogLogicalMessage).
struct LogicalMessage {
    TransactionId xid = 0;  // 0 when non-transactional
    Lsn lsn;
    bool transactional = false;
    std::string prefix;  // "Spock" for everything Spock forwards
    std::string payload;

    bool operator==(const LogicalMessage&) const = default;
};

struct Commit {
    Lsn commit_lsn;
    Lsn end_lsn;
    TimestampUs commit_time;
    Lsn remote_insert_lsn;  // provider's insert position at send time, for lag in bytes

    bool operator==(const Commit&) const = default;
};

// A block of changes of the in-progress transaction xid follows, up to STREAM STOP.
struct StreamStart {
    TransactionId xid = 0;
    bool first_segment = false;  // the first block ever sent for xid

    bool operator==(const StreamStart&) const = default;
};

// The changes that follow (until the next STREAM XID or STREAM STOP) were made by this
// (sub)transaction of the streamed one; the streamed xid itself until the first of these.
struct StreamXid {
    TransactionId xid = 0;

    bool operator==(const StreamXid&) const = default;
};

struct StreamStop {
    bool operator==(const StreamStop&) const = default;
};

// The streamed transaction committed: what BEGIN, ORIGIN and COMMIT would have said.
struct StreamCommit {
    TransactionId xid = 0;
    Lsn commit_lsn;
    Lsn end_lsn;
    TimestampUs commit_time;
    Lsn origin_lsn;
    OriginId origin_id = 0;  // spock node id of the origin, as in ORIGIN
    Lsn remote_insert_lsn;

    bool operator==(const StreamCommit&) const = default;
};

// The streamed transaction (subxid == xid) or one of its subtransactions aborted: its
// streamed changes (and those of its subtransactions) must be forgotten.
struct StreamAbort {
    TransactionId xid = 0;
    TransactionId subxid = 0;

    bool operator==(const StreamAbort&) const = default;
};

using ProtocolMessage = std::variant<Startup, Begin, Origin, CommitOrder, Relation, Insert, Update,
                                     Delete, Truncate, LogicalMessage, Commit, StreamStart,
                                     StreamXid, StreamStop, StreamCommit, StreamAbort>;

// "BEGIN", "RELATION", ... for the message with this type byte, "unknown" otherwise.
std::string_view message_type_name(char type) noexcept;

// The type byte a message is written with.
char message_type(const ProtocolMessage& msg) noexcept;

// ----- encoding ------------------------------------------------------------------------------
// Each function appends one complete message to out. A struct that cannot be represented on
// the wire (a name longer than 63 bytes or containing NUL, more than 1664 columns, a text value
// containing NUL, a length beyond 2^31-1, an empty startup key, ...) raises core::Error XX000:
// it means the caller built it wrongly, since PostgreSQL never produces such values.

void encode(std::string& out, const Startup& msg);
void encode(std::string& out, const Begin& msg);
void encode(std::string& out, const Origin& msg);
void encode(std::string& out, const CommitOrder& msg);
void encode(std::string& out, const Relation& msg);
void encode(std::string& out, const Insert& msg);
void encode(std::string& out, const Update& msg);
void encode(std::string& out, const Delete& msg);
void encode(std::string& out, const Truncate& msg);
void encode(std::string& out, const LogicalMessage& msg);
void encode(std::string& out, const Commit& msg);
void encode(std::string& out, const StreamStart& msg);
void encode(std::string& out, const StreamXid& msg);
void encode(std::string& out, const StreamStop& msg);
void encode(std::string& out, const StreamCommit& msg);
void encode(std::string& out, const StreamAbort& msg);
void encode(std::string& out, const ProtocolMessage& msg);

// The message as a fresh buffer.
std::string encode_message(const ProtocolMessage& msg);

// Building blocks for writers that stream columns without building a TupleData: a tuple block
// is encode_tuple_header(natts) followed by natts encode_column() calls. For Text, value is the
// text without its NUL (the NUL is added); for Null and Unchanged, value must be empty.
void encode_tuple_header(std::string& out, std::size_t natts);
void encode_column(std::string& out, ColumnKind kind, std::string_view value);
void encode_tuple(std::string& out, const TupleData& tuple);

// ----- decoding ------------------------------------------------------------------------------
// Decodes exactly one message occupying all of bytes. Any truncation, unknown type byte or
// marker, out-of-range length, missing NUL or trailing byte raises core::Error 08P01
// (protocol_violation) whose message names the problem and its byte offset, e.g.
// "malformed RELATION message: column name length 70 exceeds the 12 remaining bytes at offset 31".
// Never reads outside bytes.
ProtocolMessage decode_message(std::string_view bytes);

}  // namespace spock::core
