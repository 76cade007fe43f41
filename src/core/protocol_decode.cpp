// Reader for the Spock 5 native protocol messages (reference §5.3). The layouts and the
// readings chosen for ambiguous points are described in protocol.hpp; every length is checked
// against the bytes that remain before anything is read or allocated.
#include <fmt/format.h>

#include <algorithm>

#include "spock/core/error.hpp"
#include "spock/core/protocol.hpp"
#include "spock/core/protocol_reader.hpp"

namespace spock::core {

namespace {

// The flags byte of B, O, L, R, I, U, D and C: always 0 from Spock, and ignored by its reader.
void skip_flags(ByteReader& r) {
    (void)r.u8("flags");
}

Lsn read_lsn(ByteReader& r, std::string_view field) {
    return Lsn{r.u64(field)};
}

TimestampUs read_timestamp(ByteReader& r, std::string_view field) {
    return TimestampUs{r.i64(field)};
}

void expect_marker(ByteReader& r, char expected, std::string_view what) {
    const std::size_t at = r.offset();
    const std::uint8_t got = r.u8(what);
    if (got != static_cast<std::uint8_t>(expected)) {
        r.fail_at(at, fmt::format("expected {} marker {}, found {}", what,
                                  describe_byte(static_cast<std::uint8_t>(expected)),
                                  describe_byte(got)));
    }
}

// A name whose length (counting the NUL) was just read at len_at: 1..64 bytes, NUL-terminated,
// no NUL inside.
std::string read_name(ByteReader& r, std::size_t len, std::size_t len_at, std::string_view what) {
    if (len == 0) {
        r.fail_at(len_at, fmt::format("{} length is 0, leaving no room for the NUL", what));
    }
    if (len > kMaxNameBytesWithNul) {
        r.fail_at(len_at, fmt::format("{} length {} exceeds {}", what, len, kMaxNameBytesWithNul));
    }
    if (len > r.remaining()) {
        r.fail_at(len_at, fmt::format("{} length {} exceeds the {} remaining bytes", what, len,
                                      r.remaining()));
    }
    const std::size_t at = r.offset();
    std::string_view raw = r.bytes(len, what);
    if (raw.back() != '\0') {
        r.fail_at(at, fmt::format("{} is not NUL-terminated", what));
    }
    raw.remove_suffix(1);
    if (raw.find('\0') != std::string_view::npos) {
        r.fail_at(at, fmt::format("{} contains a NUL byte", what));
    }
    return std::string(raw);
}

// A 32-bit column or payload length that must be >= 0 and fit in what remains. `name`
// produces the field's name for an error message; it is called only when there is one, so the
// per-column hot path formats nothing.
template <typename Name>
std::size_t read_length_lazy(ByteReader& r, Name&& name) {
    const std::size_t at = r.offset();
    const std::int32_t len = r.remaining() >= 4 ? r.i32({}) : r.i32(name());
    if (len < 0) {
        r.fail_at(at, fmt::format("{} {} is negative", name(), len));
    }
    const auto n = static_cast<std::size_t>(len);
    if (n > r.remaining()) {
        r.fail_at(at,
                  fmt::format("{} {} exceeds the {} remaining bytes", name(), n, r.remaining()));
    }
    return n;
}

std::size_t read_length(ByteReader& r, std::string_view what) {
    return read_length_lazy(r, [what] { return std::string(what); });
}

std::size_t read_natts(ByteReader& r, std::string_view what) {
    const std::size_t at = r.offset();
    const std::size_t natts = r.u16(what);
    if (natts > kMaxTupleAttributes) {
        r.fail_at(at,
                  fmt::format("{} {} exceeds the maximum {}", what, natts, kMaxTupleAttributes));
    }
    return natts;
}

// Tuple block: 'T', u16 natts, then one column value per attribute.
TupleData read_tuple(ByteReader& r, bool allow_unchanged) {
    expect_marker(r, marker::kTuple, "tuple");
    const std::size_t natts = read_natts(r, "tuple column count");
    TupleData tuple;
    // Every column takes at least one byte, so this never reserves more than the input size.
    tuple.columns.reserve(std::min(natts, r.remaining()));
    for (std::size_t i = 0; i < natts; ++i) {
        const std::size_t at = r.offset();
        const std::uint8_t kind =
            r.remaining() >= 1 ? r.u8({}) : r.u8(fmt::format("column {} kind", i + 1));
        ColumnValue col;
        switch (kind) {
            case static_cast<std::uint8_t>(ColumnKind::Null):
                col.kind = ColumnKind::Null;
                break;
            case static_cast<std::uint8_t>(ColumnKind::Unchanged):
                if (!allow_unchanged) {
                    r.fail_at(at, fmt::format("column {} is an unchanged toasted value, allowed "
                                              "only in the new tuple of an UPDATE",
                                              i + 1));
                }
                col.kind = ColumnKind::Unchanged;
                break;
            case static_cast<std::uint8_t>(ColumnKind::Internal):
            case static_cast<std::uint8_t>(ColumnKind::Binary): {
                col.kind = static_cast<ColumnKind>(kind);
                const std::size_t len =
                    read_length_lazy(r, [i] { return fmt::format("column {} length", i + 1); });
                col.bytes = std::string(r.bytes(len, {}));
                break;
            }
            case static_cast<std::uint8_t>(ColumnKind::Text): {
                col.kind = ColumnKind::Text;
                auto field = [i] { return fmt::format("column {} text length", i + 1); };
                const std::size_t len_at = r.offset();
                const std::size_t len = read_length_lazy(r, field);
                if (len == 0) {
                    r.fail_at(len_at, fmt::format("{} is 0, leaving no room for the NUL", field()));
                }
                const std::size_t text_at = r.offset();
                std::string_view text = r.bytes(len, {});
                if (text.back() != '\0') {
                    r.fail_at(text_at, fmt::format("column {} text is not NUL-terminated", i + 1));
                }
                text.remove_suffix(1);
                if (text.find('\0') != std::string_view::npos) {
                    r.fail_at(text_at, fmt::format("column {} text contains a NUL byte", i + 1));
                }
                col.bytes = std::string(text);
                break;
            }
            default:
                r.fail_at(at,
                          fmt::format("unknown kind {} for column {}", describe_byte(kind), i + 1));
        }
        tuple.columns.push_back(std::move(col));
    }
    return tuple;
}

// 'K' or 'O' followed by the old tuple; the marker byte has been read already.
OldTuple read_old_tuple(ByteReader& r, std::uint8_t marker_byte) {
    OldTuple old;
    old.kind = marker_byte == static_cast<std::uint8_t>(marker::kKey) ? OldTupleKind::Key
                                                                      : OldTupleKind::Old;
    old.tuple = read_tuple(r, false);
    return old;
}

bool is_old_tuple_marker(std::uint8_t b) noexcept {
    return b == static_cast<std::uint8_t>(marker::kKey) ||
           b == static_cast<std::uint8_t>(marker::kOldTuple);
}

Startup read_startup(ByteReader& r) {
    const std::size_t at = r.offset();
    const std::uint8_t format = r.u8("startup format");
    if (format != kStartupFormat) {
        r.fail_at(
            at, fmt::format("unsupported startup format {}, expected {}", format, kStartupFormat));
    }
    Startup msg;
    while (!r.at_end()) {
        const std::size_t key_at = r.offset();
        std::string_view key = r.cstring("parameter name");
        if (key.empty()) {
            r.fail_at(key_at, "empty parameter name");
        }
        if (r.at_end()) {
            r.fail(fmt::format("parameter \"{}\" has no value", printable_bytes(key)));
        }
        std::string_view value =
            r.cstring(fmt::format("value of parameter \"{}\"", printable_bytes(key)));
        msg.params.emplace_back(std::string(key), std::string(value));
    }
    return msg;
}

Begin read_begin(ByteReader& r) {
    skip_flags(r);
    Begin msg;
    msg.final_lsn = read_lsn(r, "final_lsn");
    msg.commit_time = read_timestamp(r, "commit_time");
    msg.xid = r.u32("xid");
    return msg;
}

Origin read_origin(ByteReader& r) {
    skip_flags(r);
    Origin msg;
    msg.origin_lsn = read_lsn(r, "origin_lsn");
    msg.origin_id = r.u16("origin_id");
    return msg;
}

CommitOrder read_commit_order(ByteReader& r) {
    skip_flags(r);
    CommitOrder msg;
    msg.last_commit_ts = read_timestamp(r, "last_commit_ts");
    return msg;
}

Relation read_relation(ByteReader& r) {
    skip_flags(r);
    Relation msg;
    msg.relid = r.u32("relid");
    std::size_t at = r.offset();
    msg.nspname = read_name(r, r.u8("schema name length"), at, "schema name");
    at = r.offset();
    msg.relname = read_name(r, r.u8("relation name length"), at, "relation name");
    expect_marker(r, marker::kAttrs, "attributes");
    const std::size_t natts = read_natts(r, "column count");
    msg.columns.reserve(std::min(natts, r.remaining()));
    for (std::size_t i = 0; i < natts; ++i) {
        RelationColumn col;
        expect_marker(r, marker::kColumn, "column");
        col.is_key = (r.u8("column flags") & kRelationColumnIsKey) != 0;
        expect_marker(r, marker::kName, "column name");
        at = r.offset();
        col.name = read_name(r, r.u16("column name length"), at, "column name");
        col.typid = r.u32("column type oid");
        col.typmod = r.i32("column type modifier");
        msg.columns.push_back(std::move(col));
    }
    return msg;
}

Insert read_insert(ByteReader& r) {
    skip_flags(r);
    Insert msg;
    msg.relid = r.u32("relid");
    expect_marker(r, marker::kName, "new tuple");
    msg.new_tuple = read_tuple(r, false);
    return msg;
}

Update read_update(ByteReader& r) {
    skip_flags(r);
    Update msg;
    msg.relid = r.u32("relid");
    std::size_t at = r.offset();
    std::uint8_t b = r.u8("tuple marker");
    if (is_old_tuple_marker(b)) {
        msg.old_tuple = read_old_tuple(r, b);
        at = r.offset();
        b = r.u8("new tuple marker");
        if (b != static_cast<std::uint8_t>(marker::kName)) {
            r.fail_at(at, fmt::format("expected new tuple marker 'N', found {}", describe_byte(b)));
        }
    } else if (b != static_cast<std::uint8_t>(marker::kName)) {
        r.fail_at(at,
                  fmt::format("expected tuple marker 'K', 'O' or 'N', found {}", describe_byte(b)));
    }
    msg.new_tuple = read_tuple(r, true);
    return msg;
}

Delete read_delete(ByteReader& r) {
    skip_flags(r);
    Delete msg;
    msg.relid = r.u32("relid");
    const std::size_t at = r.offset();
    const std::uint8_t b = r.u8("old tuple marker");
    if (!is_old_tuple_marker(b)) {
        r.fail_at(at,
                  fmt::format("expected old tuple marker 'K' or 'O', found {}", describe_byte(b)));
    }
    msg.old_tuple = read_old_tuple(r, b);
    return msg;
}

Truncate read_truncate(ByteReader& r) {
    Truncate msg;
    const std::size_t at = r.offset();
    const std::int32_t nrelids = r.i32("relation count");
    if (nrelids < 0) {
        r.fail_at(at, fmt::format("relation count {} is negative", nrelids));
    }
    const std::uint8_t flags = r.u8("truncate flags");
    msg.cascade = (flags & kTruncateCascade) != 0;
    msg.restart_identity = (flags & kTruncateRestartIdentity) != 0;
    const auto n = static_cast<std::size_t>(nrelids);
    if (n > r.remaining() / 4) {
        r.fail_at(at, fmt::format("relation count {} needs {} bytes, only {} remain", n,
                                  static_cast<std::uint64_t>(n) * 4, r.remaining()));
    }
    msg.relids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        msg.relids.push_back(r.u32("relid"));
    }
    return msg;
}

LogicalMessage read_logical_message(ByteReader& r) {
    LogicalMessage msg;
    msg.xid = r.u32("xid");
    msg.lsn = read_lsn(r, "lsn");
    const std::size_t at = r.offset();
    const std::uint8_t transactional = r.u8("transactional flag");
    if (transactional > 1) {
        r.fail_at(at, fmt::format("transactional flag {} is neither 0 nor 1", transactional));
    }
    msg.transactional = transactional == 1;
    msg.prefix = std::string(r.cstring("prefix"));
    const std::size_t size = read_length(r, "payload size");
    msg.payload = std::string(r.bytes(size, "payload"));
    return msg;
}

Commit read_commit(ByteReader& r) {
    skip_flags(r);
    Commit msg;
    msg.commit_lsn = read_lsn(r, "commit_lsn");
    msg.end_lsn = read_lsn(r, "end_lsn");
    msg.commit_time = read_timestamp(r, "commit_time");
    msg.remote_insert_lsn = read_lsn(r, "remote_insert_lsn");
    return msg;
}

StreamStart read_stream_start(ByteReader& r) {
    StreamStart msg;
    msg.first_segment = (r.u8("flags") & kStreamFirstSegment) != 0;  // other bits ignored
    msg.xid = r.u32("xid");
    return msg;
}

StreamXid read_stream_xid(ByteReader& r) {
    skip_flags(r);
    StreamXid msg;
    msg.xid = r.u32("xid");
    return msg;
}

StreamStop read_stream_stop(ByteReader& r) {
    skip_flags(r);
    return StreamStop{};
}

StreamCommit read_stream_commit(ByteReader& r) {
    skip_flags(r);
    StreamCommit msg;
    msg.xid = r.u32("xid");
    msg.commit_lsn = read_lsn(r, "commit_lsn");
    msg.end_lsn = read_lsn(r, "end_lsn");
    msg.commit_time = read_timestamp(r, "commit_time");
    msg.origin_lsn = read_lsn(r, "origin_lsn");
    msg.origin_id = r.u16("origin_id");
    msg.remote_insert_lsn = read_lsn(r, "remote_insert_lsn");
    return msg;
}

StreamAbort read_stream_abort(ByteReader& r) {
    skip_flags(r);
    StreamAbort msg;
    msg.xid = r.u32("xid");
    msg.subxid = r.u32("subxid");
    return msg;
}

ProtocolMessage read_body(ByteReader& r, char type) {
    switch (type) {
        case msgtype::kStartup:
            return read_startup(r);
        case msgtype::kBegin:
            return read_begin(r);
        case msgtype::kOrigin:
            return read_origin(r);
        case msgtype::kCommitOrder:
            return read_commit_order(r);
        case msgtype::kRelation:
            return read_relation(r);
        case msgtype::kInsert:
            return read_insert(r);
        case msgtype::kUpdate:
            return read_update(r);
        case msgtype::kDelete:
            return read_delete(r);
        case msgtype::kTruncate:
            return read_truncate(r);
        case msgtype::kMessage:
            return read_logical_message(r);
        case msgtype::kCommit:
            return read_commit(r);
        case msgtype::kStreamStart:
            return read_stream_start(r);
        case msgtype::kStreamXid:
            return read_stream_xid(r);
        case msgtype::kStreamStop:
            return read_stream_stop(r);
        case msgtype::kStreamCommit:
            return read_stream_commit(r);
        case msgtype::kStreamAbort:
            return read_stream_abort(r);
        default:
            r.fail_at(0, fmt::format("unknown message type {}",
                                     describe_byte(static_cast<std::uint8_t>(type))));
    }
}

}  // namespace

ProtocolMessage decode_message(std::string_view bytes) {
    ByteReader r(bytes);
    if (r.at_end()) {
        r.fail("empty message");
    }
    const char type = static_cast<char>(r.u8("message type"));
    if (message_type_name(type) != "unknown") {
        r.set_kind(message_type_name(type));
    }
    ProtocolMessage msg = read_body(r, type);
    r.expect_end();
    return msg;
}

}  // namespace spock::core
