// Writers for the Spock 5 native protocol messages (reference §5.3); see protocol.hpp for the
// byte layouts and the readings chosen.
#include <fmt/format.h>

#include <limits>

#include "spock/core/byte_order.hpp"
#include "spock/core/error.hpp"
#include "spock/core/protocol.hpp"

namespace spock::core {

namespace {

constexpr std::uint8_t kFlags = 0;  // the always-zero flags byte

// Runs write(); if it throws, out is cut back to its previous size so that a caller never
// sees half a message.
template <typename Write>
void all_or_nothing(std::string& out, Write write) {
    const std::size_t before = out.size();
    try {
        write();
    } catch (...) {
        out.resize(before);
        throw;
    }
}

[[noreturn]] void cannot_encode(char type, std::string_view what) {
    throw Error(sqlstate::kInternalError,
                fmt::format("cannot encode {} message: {}", message_type_name(type), what));
}

void put_type(std::string& out, char type) {
    put_u8(out, static_cast<std::uint8_t>(type));
}

// The i32 length prefix of a column value or payload.
void put_length(std::string& out, char type, std::size_t n, std::string_view what) {
    if (n > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        cannot_encode(type, fmt::format("{} of {} bytes exceeds the 32-bit length limit", what, n));
    }
    put_i32(out, static_cast<std::int32_t>(n));
}

// A string that the reader will use as a C string: it must not contain NUL.
void check_no_nul(char type, std::string_view s, std::string_view what) {
    if (s.find('\0') != std::string_view::npos) {
        cannot_encode(type, fmt::format("{} contains a NUL byte", what));
    }
}

void check_name(char type, std::string_view name, std::string_view what) {
    check_no_nul(type, name, what);
    if (name.size() + 1 > kMaxNameBytesWithNul) {
        cannot_encode(type, fmt::format("{} \"{}\" is longer than {} bytes", what, name,
                                        kMaxNameBytesWithNul - 1));
    }
}

// u8 length counting the NUL, the bytes, the NUL.
void put_short_name(std::string& out, char type, std::string_view name, std::string_view what) {
    check_name(type, name, what);
    put_u8(out, static_cast<std::uint8_t>(name.size() + 1));
    out.append(name);
    put_u8(out, 0);
}

void put_cstring(std::string& out, std::string_view s) {
    out.append(s);
    put_u8(out, 0);
}

void put_lsn(std::string& out, Lsn lsn) {
    put_u64(out, lsn.value);
}

void put_timestamp(std::string& out, TimestampUs ts) {
    put_i64(out, ts.value);
}

// A whole tuple block written on behalf of message type; allow_unchanged only for the new
// tuple of an UPDATE.
void put_tuple(std::string& out, char type, const TupleData& tuple, bool allow_unchanged) {
    if (tuple.columns.size() > kMaxTupleAttributes) {
        cannot_encode(type, fmt::format("tuple has {} columns, more than the maximum {}",
                                        tuple.columns.size(), kMaxTupleAttributes));
    }
    encode_tuple_header(out, tuple.columns.size());
    for (const auto& col : tuple.columns) {
        if (col.kind == ColumnKind::Unchanged && !allow_unchanged) {
            cannot_encode(type,
                          "an unchanged toasted column is allowed only in the new tuple of "
                          "an UPDATE");
        }
        encode_column(out, col.kind, col.bytes);
    }
}

void put_old_tuple(std::string& out, char type, const OldTuple& old) {
    if (old.kind != OldTupleKind::Key && old.kind != OldTupleKind::Old) {
        cannot_encode(type, "invalid old tuple kind");
    }
    put_u8(out, static_cast<std::uint8_t>(old.kind));
    put_tuple(out, type, old.tuple, false);
}

}  // namespace

std::string_view message_type_name(char type) noexcept {
    switch (type) {
        case msgtype::kStartup:
            return "STARTUP";
        case msgtype::kBegin:
            return "BEGIN";
        case msgtype::kOrigin:
            return "ORIGIN";
        case msgtype::kCommitOrder:
            return "COMMIT ORDER";
        case msgtype::kRelation:
            return "RELATION";
        case msgtype::kInsert:
            return "INSERT";
        case msgtype::kUpdate:
            return "UPDATE";
        case msgtype::kDelete:
            return "DELETE";
        case msgtype::kTruncate:
            return "TRUNCATE";
        case msgtype::kMessage:
            return "MESSAGE";
        case msgtype::kCommit:
            return "COMMIT";
        case msgtype::kStreamStart:
            return "STREAM START";
        case msgtype::kStreamXid:
            return "STREAM XID";
        case msgtype::kStreamStop:
            return "STREAM STOP";
        case msgtype::kStreamCommit:
            return "STREAM COMMIT";
        case msgtype::kStreamAbort:
            return "STREAM ABORT";
        default:
            return "unknown";
    }
}

char message_type(const ProtocolMessage& msg) noexcept {
    struct TypeOf {
        char operator()(const Startup&) const noexcept { return msgtype::kStartup; }
        char operator()(const Begin&) const noexcept { return msgtype::kBegin; }
        char operator()(const Origin&) const noexcept { return msgtype::kOrigin; }
        char operator()(const CommitOrder&) const noexcept { return msgtype::kCommitOrder; }
        char operator()(const Relation&) const noexcept { return msgtype::kRelation; }
        char operator()(const Insert&) const noexcept { return msgtype::kInsert; }
        char operator()(const Update&) const noexcept { return msgtype::kUpdate; }
        char operator()(const Delete&) const noexcept { return msgtype::kDelete; }
        char operator()(const Truncate&) const noexcept { return msgtype::kTruncate; }
        char operator()(const LogicalMessage&) const noexcept { return msgtype::kMessage; }
        char operator()(const Commit&) const noexcept { return msgtype::kCommit; }
        char operator()(const StreamStart&) const noexcept { return msgtype::kStreamStart; }
        char operator()(const StreamXid&) const noexcept { return msgtype::kStreamXid; }
        char operator()(const StreamStop&) const noexcept { return msgtype::kStreamStop; }
        char operator()(const StreamCommit&) const noexcept { return msgtype::kStreamCommit; }
        char operator()(const StreamAbort&) const noexcept { return msgtype::kStreamAbort; }
    };
    return std::visit(TypeOf{}, msg);
}

void encode_tuple_header(std::string& out, std::size_t natts) {
    if (natts > kMaxTupleAttributes) {
        throw Error(sqlstate::kInternalError,
                    fmt::format("cannot encode tuple: {} columns, more than the maximum {}", natts,
                                kMaxTupleAttributes));
    }
    put_u8(out, marker::kTuple);
    put_u16(out, static_cast<std::uint16_t>(natts));
}

void encode_column(std::string& out, ColumnKind kind, std::string_view value) {
    auto fail = [](std::string_view what) {
        throw Error(sqlstate::kInternalError, fmt::format("cannot encode tuple column: {}", what));
    };
    // Validate everything before writing anything.
    constexpr auto kMaxLen = static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
    switch (kind) {
        case ColumnKind::Null:
        case ColumnKind::Unchanged:
            if (!value.empty()) {
                fail("a NULL or unchanged column carries no value");
            }
            put_u8(out, static_cast<std::uint8_t>(kind));
            return;
        case ColumnKind::Internal:
        case ColumnKind::Binary:
            if (value.size() > kMaxLen) {
                fail(
                    fmt::format("value of {} bytes exceeds the 32-bit length limit", value.size()));
            }
            put_u8(out, static_cast<std::uint8_t>(kind));
            put_i32(out, static_cast<std::int32_t>(value.size()));
            out.append(value);
            return;
        case ColumnKind::Text:
            if (value.size() >= kMaxLen) {
                fail(
                    fmt::format("value of {} bytes exceeds the 32-bit length limit", value.size()));
            }
            if (value.find('\0') != std::string_view::npos) {
                fail("text value contains a NUL byte");
            }
            put_u8(out, static_cast<std::uint8_t>(kind));
            put_i32(out, static_cast<std::int32_t>(value.size() + 1));  // counts the NUL
            put_cstring(out, value);
            return;
    }
    fail("invalid column kind");
}

void encode_tuple(std::string& out, const TupleData& tuple) {
    all_or_nothing(out, [&] {
        encode_tuple_header(out, tuple.columns.size());
        for (const auto& col : tuple.columns) {
            encode_column(out, col.kind, col.bytes);
        }
    });
}

void encode(std::string& out, const Startup& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kStartup;
        put_type(out, type);
        put_u8(out, kStartupFormat);
        for (const auto& [key, value] : msg.params) {
            if (key.empty()) {
                cannot_encode(type, "empty parameter name");
            }
            check_no_nul(type, key, "parameter name");
            check_no_nul(type, value, fmt::format("value of parameter \"{}\"", key));
            put_cstring(out, key);
            put_cstring(out, value);
        }
    });
}

void encode(std::string& out, const Begin& msg) {
    put_type(out, msgtype::kBegin);
    put_u8(out, kFlags);
    put_lsn(out, msg.final_lsn);
    put_timestamp(out, msg.commit_time);
    put_u32(out, msg.xid);
}

void encode(std::string& out, const Origin& msg) {
    put_type(out, msgtype::kOrigin);
    put_u8(out, kFlags);
    put_lsn(out, msg.origin_lsn);
    put_u16(out, msg.origin_id);
}

void encode(std::string& out, const CommitOrder& msg) {
    put_type(out, msgtype::kCommitOrder);
    put_u8(out, kFlags);
    put_timestamp(out, msg.last_commit_ts);
}

void encode(std::string& out, const Relation& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kRelation;
        if (msg.columns.size() > kMaxTupleAttributes) {
            cannot_encode(type, fmt::format("relation has {} columns, more than the maximum {}",
                                            msg.columns.size(), kMaxTupleAttributes));
        }
        put_type(out, type);
        put_u8(out, kFlags);
        put_u32(out, msg.relid);
        put_short_name(out, type, msg.nspname, "schema name");
        put_short_name(out, type, msg.relname, "relation name");
        put_u8(out, marker::kAttrs);
        put_u16(out, static_cast<std::uint16_t>(msg.columns.size()));
        for (const auto& col : msg.columns) {
            check_name(type, col.name, "column name");
            put_u8(out, marker::kColumn);
            put_u8(out, col.is_key ? kRelationColumnIsKey : 0);
            put_u8(out, marker::kName);
            put_u16(out, static_cast<std::uint16_t>(col.name.size() + 1));
            put_cstring(out, col.name);
            put_u32(out, col.typid);  // sent as int32; same bits
            put_i32(out, col.typmod);
        }
    });
}

void encode(std::string& out, const Insert& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kInsert;
        put_type(out, type);
        put_u8(out, kFlags);
        put_u32(out, msg.relid);
        put_u8(out, marker::kName);
        put_tuple(out, type, msg.new_tuple, false);
    });
}

void encode(std::string& out, const Update& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kUpdate;
        put_type(out, type);
        put_u8(out, kFlags);
        put_u32(out, msg.relid);
        if (msg.old_tuple) {
            put_old_tuple(out, type, *msg.old_tuple);
        }
        put_u8(out, marker::kName);
        put_tuple(out, type, msg.new_tuple, true);
    });
}

void encode(std::string& out, const Delete& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kDelete;
        put_type(out, type);
        put_u8(out, kFlags);
        put_u32(out, msg.relid);
        put_old_tuple(out, type, msg.old_tuple);
    });
}

void encode(std::string& out, const Truncate& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kTruncate;
        if (msg.relids.size() >
            static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
            cannot_encode(type, "too many relations");
        }
        put_type(out, type);
        put_i32(out, static_cast<std::int32_t>(msg.relids.size()));
        std::uint8_t flags = 0;
        if (msg.cascade) {
            flags |= kTruncateCascade;
        }
        if (msg.restart_identity) {
            flags |= kTruncateRestartIdentity;
        }
        put_u8(out, flags);
        for (RelId relid : msg.relids) {
            put_u32(out, relid);
        }
    });
}

void encode(std::string& out, const LogicalMessage& msg) {
    all_or_nothing(out, [&] {
        constexpr char type = msgtype::kMessage;
        check_no_nul(type, msg.prefix, "prefix");
        put_type(out, type);
        put_u32(out, msg.xid);  // sent as int32; same bits
        put_lsn(out, msg.lsn);
        put_u8(out, msg.transactional ? 1 : 0);
        put_cstring(out, msg.prefix);
        put_length(out, type, msg.payload.size(), "payload");
        out.append(msg.payload);
    });
}

void encode(std::string& out, const Commit& msg) {
    put_type(out, msgtype::kCommit);
    put_u8(out, kFlags);
    put_lsn(out, msg.commit_lsn);
    put_lsn(out, msg.end_lsn);
    put_timestamp(out, msg.commit_time);
    put_lsn(out, msg.remote_insert_lsn);
}

void encode(std::string& out, const StreamStart& msg) {
    put_type(out, msgtype::kStreamStart);
    put_u8(out, msg.first_segment ? kStreamFirstSegment : 0);
    put_u32(out, msg.xid);
}

void encode(std::string& out, const StreamXid& msg) {
    put_type(out, msgtype::kStreamXid);
    put_u8(out, kFlags);
    put_u32(out, msg.xid);
}

void encode(std::string& out, const StreamStop&) {
    put_type(out, msgtype::kStreamStop);
    put_u8(out, kFlags);
}

void encode(std::string& out, const StreamCommit& msg) {
    put_type(out, msgtype::kStreamCommit);
    put_u8(out, kFlags);
    put_u32(out, msg.xid);
    put_lsn(out, msg.commit_lsn);
    put_lsn(out, msg.end_lsn);
    put_timestamp(out, msg.commit_time);
    put_lsn(out, msg.origin_lsn);
    put_u16(out, msg.origin_id);
    put_lsn(out, msg.remote_insert_lsn);
}

void encode(std::string& out, const StreamAbort& msg) {
    put_type(out, msgtype::kStreamAbort);
    put_u8(out, kFlags);
    put_u32(out, msg.xid);
    put_u32(out, msg.subxid);
}

void encode(std::string& out, const ProtocolMessage& msg) {
    std::visit([&out](const auto& m) { encode(out, m); }, msg);
}

std::string encode_message(const ProtocolMessage& msg) {
    std::string out;
    encode(out, msg);
    return out;
}

}  // namespace spock::core
