// Startup parameters of a replication stream (reference §5.1 and the 'S' message of §5.3).
//
// The subscriber sends options in START_REPLICATION SLOT "s" LOGICAL X/Y ("k" 'v', ...); the
// output plugin receives them as (name, value) pairs, validates them and answers with the
// parameters of the 'S' startup message. Both sides are here, as plain values: the glue supplies
// what only PostgreSQL knows (encoding name, PG_VERSION_NUM, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spock/core/lsn.hpp"

namespace spock::core {

// One option of START_REPLICATION. The value is absent when the option was given without one,
// which the replication grammar allows.
struct StartupOption {
    std::string name;
    std::optional<std::string> value;

    bool operator==(const StartupOption&) const = default;
};

// The properties of a server build that decide whether internal datum bytes can be exchanged.
struct BinaryTraits {
    std::uint32_t basetypes_major_version = 0;  // PG_VERSION_NUM / 100
    bool bigendian = false;
    std::uint32_t sizeof_datum = 0;
    std::uint32_t sizeof_int = 0;
    std::uint32_t sizeof_long = 0;
    bool float4_byval = true;
    bool float8_byval = true;
    bool integer_datetimes = true;

    bool operator==(const BinaryTraits&) const = default;
};

// This build's traits as C++ sees them, for a server of pg_version_num. They agree with the
// PostgreSQL macros on every platform PostgreSQL 15 supports (FLOAT4 is always by value since
// PostgreSQL 13, FLOAT8 by value when Datum is 8 bytes, integer datetimes always).
BinaryTraits native_binary_traits(std::uint32_t pg_version_num) noexcept;

// ----- subscriber side ----------------------------------------------------------------------

struct ClientStartupInputs {
    std::string expected_encoding;  // GetDatabaseEncodingName()
    std::uint32_t pg_version_num = 0;
    BinaryTraits binary;
    bool force_text_transfer = false;          // the subscription's force_text_transfer
    std::vector<std::string> forward_origins;  // the subscription's forward_origins, e.g. {all}
    std::vector<std::string> replication_sets;
    // Set by a sync worker catching up one table: (schema, table).
    std::optional<std::pair<std::string, std::string>> replicate_only_table;
    std::int32_t apply_pid = 0;
    std::string spock_version;  // informational
    std::int32_t spock_version_num = 0;
    // The subscriber's own node id; sent as spock.subscriber_node_id when not 0.
    std::uint32_t subscriber_node_id = 0;
    // Ask for large in-progress transactions to be streamed (spock.stream_in_progress '1');
    // the option is left out when false.
    bool stream_in_progress = false;
    // Ask for compact transaction headers (spock.compact_begin '1'); left out when false.
    bool compact_begin = false;
};

// The options Spock's client sends, in its order. Names are sent as identifier lists
// (join_quoted), the table as quote_qualified_identifier().
std::vector<StartupOption> client_startup_options(const ClientStartupInputs& in);

// START_REPLICATION SLOT "slot" LOGICAL X/Y ("name" 'value', ...): names double-quoted, values
// single-quoted with quotes doubled (the replication grammar has no E'' strings), a valueless
// option as its name alone.
std::string start_replication_command(std::string_view slot_name, Lsn start,
                                      std::span<const StartupOption> options);

// ----- provider side ------------------------------------------------------------------------

enum class ProtoFormat { Native, Json };

// What the client said about binary formats. Each comparison field is checked only when sent.
struct BinaryRequest {
    bool want_internal_basetypes = false;
    bool want_binary_basetypes = false;
    std::optional<std::uint32_t> basetypes_major_version;
    std::optional<bool> bigendian;
    std::optional<std::uint32_t> sizeof_datum;
    std::optional<std::uint32_t> sizeof_int;
    std::optional<std::uint32_t> sizeof_long;
    std::optional<bool> float4_byval;
    std::optional<bool> float8_byval;
    std::optional<bool> integer_datetimes;

    bool operator==(const BinaryRequest&) const = default;
};

struct StartupParams {
    std::uint32_t client_min_proto_version = 0;
    std::uint32_t client_max_proto_version = 0;
    std::uint32_t proto_version = 0;  // the highest version both sides speak
    ProtoFormat proto_format = ProtoFormat::Native;
    // For native output it must name the database encoding; the glue checks that with
    // pg_char_to_encoding(), which knows the aliases.
    std::optional<std::string> expected_encoding;
    BinaryRequest binary;
    // spock.forward_origins: true for "all"; false (absent or empty) means locally originated
    // transactions only.
    bool forward_all_origins = false;
    std::optional<std::vector<std::string>> replication_set_names;
    std::optional<std::pair<std::string, std::string>> replicate_only_table;  // schema, table
    std::optional<bool> no_txinfo;  // json only; the glue warns when it is given for native
    std::optional<std::string> pg_version;
    // spock.subscriber_node_id (ours): changes that originated on this node are not sent back
    // to it, which keeps a ring of subscriptions forwarding all origins from looping.
    std::optional<std::uint32_t> subscriber_node_id;
    // spock.stream_in_progress (ours): the subscriber reads the stream messages of
    // protocol.hpp, so transactions beyond logical_decoding_work_mem may be streamed to it.
    bool stream_in_progress = false;
    // spock.compact_begin (ours): the subscriber takes a transaction without ORIGIN as the
    // provider's own and does not read COMMIT-ORDER, so the provider leaves out the ORIGIN of
    // a transaction that originated on it and every COMMIT-ORDER (docs/protocol.md).
    bool compact_begin = false;
    std::vector<std::string> ignored_options;  // unknown names, for a DEBUG1 line each

    bool operator==(const StartupParams&) const = default;
};

// Validates the options as the output plugin's startup does. Raises core::Error 08P01 when
// startup_params_format is not 1 or a required option is missing or the protocol versions do
// not overlap 3..4, and 22023 for a malformed value (booleans accept exactly t/f/true/false/
// 1/0/on/off, any case; integers are unsigned decimal 32-bit; spock.forward_origins may hold
// only "all"). A repeated option: the last one wins.
StartupParams parse_startup_options(std::span<const StartupOption> options);

struct BinaryFormats {
    bool internal = false;  // 'i' columns allowed
    bool binary = false;    // 'b' columns allowed

    bool operator==(const BinaryFormats&) const = default;
};

// Internal datums when wanted and every sent trait equals the server's (the major version must
// be sent); send/recv when wanted and the major version matches. Spock stores
// binary.float8_byval into its float4 fields [quirk]; we compare each trait with its own
// counterpart, which can only make us fall back to a format every peer reads.
BinaryFormats negotiate_binary_formats(const BinaryRequest& request, const BinaryTraits& server);

struct ServerStartupInputs {
    std::uint32_t pg_version_num = 0;
    std::string pg_version;  // PG_VERSION, e.g. "15.10"
    std::uint32_t pg_catversion = 0;
    std::string database_encoding;
    std::int32_t walsender_pid = 0;
    std::string spock_version;
    std::int32_t spock_version_num = 0;
    BinaryTraits binary;
    std::uint32_t maxalign = 8;
    BinaryFormats formats;  // what negotiate_binary_formats chose
    bool no_txinfo = false;
};

// The key/value pairs of the 'S' message, in the order of reference §5.3.
std::vector<std::pair<std::string, std::string>> server_startup_params(
    const ServerStartupInputs& in);

}  // namespace spock::core
