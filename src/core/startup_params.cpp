// Startup parameters of a replication stream (reference §5.1, §5.3 'S').
#include "spock/core/startup_params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <charconv>

#include "spock/core/error.hpp"
#include "spock/core/names.hpp"
#include "spock/core/version.hpp"

namespace spock::core {

namespace {

std::string bool_digit(bool b) {
    return b ? "1" : "0";
}

std::string bool_letter(bool b) {
    return b ? "t" : "f";
}

// Double-quoted with embedded quotes doubled: safe for any name, including dotted ones.
std::string quote_name(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out.push_back(c);
        if (c == '"') {
            out.push_back('"');
        }
    }
    out.push_back('"');
    return out;
}

std::string quote_value(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        out.push_back(c);
        if (c == '\'') {
            out.push_back('\'');
        }
    }
    out.push_back('\'');
    return out;
}

[[noreturn]] void bad_value(std::string_view name, std::string_view value, std::string_view what) {
    throw Error(sqlstate::kInvalidParameterValue,
                fmt::format("invalid value \"{}\" for startup parameter \"{}\"", value, name),
                std::string(what));
}

[[noreturn]] void protocol_error(std::string message, std::string detail = {}) {
    throw Error(sqlstate::kProtocolViolation, std::move(message), std::move(detail));
}

const std::string& require_value(const StartupOption& opt) {
    if (!opt.value) {
        throw Error(sqlstate::kInvalidParameterValue,
                    fmt::format("startup parameter \"{}\" requires a value", opt.name));
    }
    return *opt.value;
}

bool ascii_iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i];
        char y = b[i];
        if (x >= 'A' && x <= 'Z') {
            x = static_cast<char>(x - 'A' + 'a');
        }
        if (y >= 'A' && y <= 'Z') {
            y = static_cast<char>(y - 'A' + 'a');
        }
        if (x != y) {
            return false;
        }
    }
    return true;
}

bool parse_bool_option(const StartupOption& opt) {
    const std::string& v = require_value(opt);
    for (std::string_view t : {"t", "true", "1", "on"}) {
        if (ascii_iequals(v, t)) {
            return true;
        }
    }
    for (std::string_view f : {"f", "false", "0", "off"}) {
        if (ascii_iequals(v, f)) {
            return false;
        }
    }
    bad_value(opt.name, v, "A boolean must be one of t, f, true, false, 1, 0, on, off.");
}

std::uint32_t parse_u32_option(const StartupOption& opt) {
    const std::string& v = require_value(opt);
    std::uint32_t out = 0;
    const char* end = v.data() + v.size();
    // from_chars accepts no sign and no spaces, which is what we want; it rejects overflow.
    auto [ptr, ec] = std::from_chars(v.data(), end, out);
    if (v.empty() || ec != std::errc() || ptr != end) {
        bad_value(opt.name, v, "An unsigned 32-bit decimal integer is required.");
    }
    return out;
}

bool is_sql_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// "schema.table" with SplitIdentifierString rules and '.' as separator: whitespace around the
// parts is ignored, quoted parts keep their case with "" meaning ", unquoted parts are
// lower-cased (ASCII); both are cut to 63 bytes. Exactly two parts are required.
std::pair<std::string, std::string> parse_qualified_name(const StartupOption& opt) {
    const std::string& v = require_value(opt);
    auto bad = [&] {
        bad_value(opt.name, v,
                  "A schema-qualified table name such as myschema.mytable is "
                  "required.");
    };
    std::vector<std::string> parts;
    std::size_t pos = 0;
    for (;;) {
        while (pos < v.size() && is_sql_space(v[pos])) {
            ++pos;
        }
        std::string part;
        if (pos < v.size() && v[pos] == '"') {
            ++pos;
            for (;;) {
                if (pos == v.size()) {
                    bad();  // unterminated quote
                }
                if (v[pos] == '"') {
                    if (pos + 1 < v.size() && v[pos + 1] == '"') {
                        part.push_back('"');
                        pos += 2;
                        continue;
                    }
                    ++pos;
                    break;
                }
                part.push_back(v[pos++]);
            }
            if (part.empty()) {
                bad();
            }
        } else {
            while (pos < v.size() && v[pos] != '.' && !is_sql_space(v[pos]) && v[pos] != '"') {
                char c = v[pos++];
                if (c >= 'A' && c <= 'Z') {
                    c = static_cast<char>(c - 'A' + 'a');
                }
                part.push_back(c);
            }
            if (part.empty()) {
                bad();
            }
        }
        if (part.size() > kNameDataLen - 1) {
            part.resize(kNameDataLen - 1);
        }
        parts.push_back(std::move(part));
        while (pos < v.size() && is_sql_space(v[pos])) {
            ++pos;
        }
        if (pos == v.size()) {
            break;
        }
        if (v[pos] != '.') {
            bad();
        }
        ++pos;
    }
    if (parts.size() != 2) {
        bad();
    }
    return {std::move(parts[0]), std::move(parts[1])};
}

std::vector<std::string> parse_identifier_list(const StartupOption& opt) {
    const std::string& v = require_value(opt);
    try {
        return split_identifier_list(v);
    } catch (const Error&) {
        bad_value(opt.name, v, "A comma-separated list of identifiers is required.");
    }
}

}  // namespace

BinaryTraits native_binary_traits(std::uint32_t pg_version_num) noexcept {
    BinaryTraits t;
    t.basetypes_major_version = pg_version_num / 100;
    t.bigendian = std::endian::native == std::endian::big;
    t.sizeof_datum = sizeof(void*);  // Datum is uintptr_t
    t.sizeof_int = sizeof(int);
    t.sizeof_long = sizeof(long);
    t.float4_byval = true;
    t.float8_byval = sizeof(void*) >= 8;
    t.integer_datetimes = true;
    return t;
}

std::vector<StartupOption> client_startup_options(const ClientStartupInputs& in) {
    const bool want_binary = !in.force_text_transfer;
    std::vector<StartupOption> opts;
    auto add = [&opts](std::string name, std::string value) {
        opts.push_back(StartupOption{std::move(name), std::move(value)});
    };
    add("expected_encoding", in.expected_encoding);
    add("min_proto_version", std::to_string(kMinProtoVersion));
    add("max_proto_version", std::to_string(kMaxProtoVersion));
    add("startup_params_format", "1");
    add("binary.want_internal_basetypes", bool_digit(want_binary));
    add("binary.want_binary_basetypes", bool_digit(want_binary));
    add("binary.basetypes_major_version", std::to_string(in.binary.basetypes_major_version));
    add("binary.sizeof_datum", std::to_string(in.binary.sizeof_datum));
    add("binary.sizeof_int", std::to_string(in.binary.sizeof_int));
    add("binary.sizeof_long", std::to_string(in.binary.sizeof_long));
    add("binary.bigendian", bool_digit(in.binary.bigendian));
    add("binary.float4_byval", bool_digit(in.binary.float4_byval));
    add("binary.float8_byval", bool_digit(in.binary.float8_byval));
    add("binary.integer_datetimes", bool_digit(in.binary.integer_datetimes));
    add("hooks.setup_function", "spock.spock_hooks_setup");
    add("spock.forward_origins", join_quoted(in.forward_origins));  // always sent, maybe ''
    if (in.replicate_only_table) {
        add("spock.replicate_only_table",
            quote_qualified_identifier(in.replicate_only_table->first,
                                       in.replicate_only_table->second));
    }
    add("spock.replication_set_names", join_quoted(in.replication_sets));
    add("relmeta_cache_size", "-1");
    add("pg_version", std::to_string(in.pg_version_num));
    add("spock_version", in.spock_version);
    add("spock_version_num", std::to_string(in.spock_version_num));
    add("spock_apply_pid", std::to_string(in.apply_pid));
    if (in.subscriber_node_id != 0) {
        // Ours, not Spock's (a Spock provider ignores unknown keys): lets the provider hold
        // back changes that came from the subscriber itself when it forwards all origins.
        add("spock.subscriber_node_id", std::to_string(in.subscriber_node_id));
    }
    if (in.stream_in_progress) {
        // Ours too: a Spock provider ignores it and keeps sending whole transactions.
        add("spock.stream_in_progress", "1");
    }
    if (in.compact_begin) {
        // Ours too: a Spock provider ignores it and sends ORIGIN and COMMIT-ORDER as always.
        add("spock.compact_begin", "1");
    }
    return opts;
}

std::string start_replication_command(std::string_view slot_name, Lsn start,
                                      std::span<const StartupOption> options) {
    std::string cmd = fmt::format("START_REPLICATION SLOT {} LOGICAL {}", quote_name(slot_name),
                                  start.to_string());
    if (options.empty()) {
        return cmd;
    }
    cmd += " (";
    bool first = true;
    for (const auto& opt : options) {
        if (!first) {
            cmd += ", ";
        }
        first = false;
        cmd += quote_name(opt.name);
        if (opt.value) {
            cmd += ' ';
            cmd += quote_value(*opt.value);
        }
    }
    cmd += ')';
    return cmd;
}

StartupParams parse_startup_options(std::span<const StartupOption> options) {
    StartupParams p;
    std::optional<std::uint32_t> format;
    std::optional<std::uint32_t> min_proto;
    std::optional<std::uint32_t> max_proto;
    for (const auto& opt : options) {
        const std::string& n = opt.name;
        if (n == "startup_params_format") {
            format = parse_u32_option(opt);
        } else if (n == "min_proto_version") {
            min_proto = parse_u32_option(opt);
        } else if (n == "max_proto_version") {
            max_proto = parse_u32_option(opt);
        } else if (n == "proto_format") {
            const std::string& v = require_value(opt);
            if (v == "native") {
                p.proto_format = ProtoFormat::Native;
            } else if (v == "json") {
                p.proto_format = ProtoFormat::Json;
            } else {
                bad_value(n, v, "The protocol format must be native or json.");
            }
        } else if (n == "expected_encoding") {
            p.expected_encoding = require_value(opt);
        } else if (n == "binary.want_internal_basetypes") {
            p.binary.want_internal_basetypes = parse_bool_option(opt);
        } else if (n == "binary.want_binary_basetypes") {
            p.binary.want_binary_basetypes = parse_bool_option(opt);
        } else if (n == "binary.basetypes_major_version") {
            p.binary.basetypes_major_version = parse_u32_option(opt);
        } else if (n == "binary.bigendian") {
            p.binary.bigendian = parse_bool_option(opt);
        } else if (n == "binary.sizeof_datum") {
            p.binary.sizeof_datum = parse_u32_option(opt);
        } else if (n == "binary.sizeof_int") {
            p.binary.sizeof_int = parse_u32_option(opt);
        } else if (n == "binary.sizeof_long") {
            p.binary.sizeof_long = parse_u32_option(opt);
        } else if (n == "binary.float4_byval") {
            p.binary.float4_byval = parse_bool_option(opt);
        } else if (n == "binary.float8_byval") {
            p.binary.float8_byval = parse_bool_option(opt);
        } else if (n == "binary.integer_datetimes") {
            p.binary.integer_datetimes = parse_bool_option(opt);
        } else if (n == "spock.forward_origins") {
            p.forward_all_origins = false;
            for (const auto& origin : parse_identifier_list(opt)) {
                if (origin != "all") {
                    bad_value(n, require_value(opt),
                              fmt::format("Unrecognized origin \"{}\": only \"all\" is supported, "
                                          "and an empty list forwards locally originated "
                                          "transactions only.",
                                          origin));
                }
                p.forward_all_origins = true;
            }
        } else if (n == "spock.replication_set_names") {
            p.replication_set_names = parse_identifier_list(opt);
        } else if (n == "spock.replicate_only_table") {
            p.replicate_only_table = parse_qualified_name(opt);
        } else if (n == "spock.subscriber_node_id") {
            p.subscriber_node_id = parse_u32_option(opt);
        } else if (n == "spock.stream_in_progress") {
            p.stream_in_progress = parse_bool_option(opt);
        } else if (n == "spock.compact_begin") {
            p.compact_begin = parse_bool_option(opt);
        } else if (n == "no_txinfo") {
            p.no_txinfo = parse_bool_option(opt);
        } else if (n == "pg_version") {
            p.pg_version = require_value(opt);
        } else if (n == "hooks.setup_function") {
            // Legacy pglogical hook setup: accepted and ignored.
        } else {
            p.ignored_options.push_back(n);
        }
    }

    if (!format) {
        protocol_error("missing required startup parameter \"startup_params_format\"");
    }
    if (*format != 1) {
        protocol_error(fmt::format("unsupported startup_params_format {}", *format),
                       "Only startup parameter format 1 is supported.");
    }
    if (!min_proto) {
        protocol_error("missing required startup parameter \"min_proto_version\"");
    }
    if (!max_proto) {
        protocol_error("missing required startup parameter \"max_proto_version\"");
    }
    const auto server_min = static_cast<std::uint32_t>(kMinProtoVersion);
    const auto server_max = static_cast<std::uint32_t>(kMaxProtoVersion);
    const std::string supported =
        fmt::format("This server supports protocol versions {} to {}.", server_min, server_max);
    if (*min_proto > *max_proto) {
        protocol_error(
            fmt::format("client sent min_proto_version {} greater than "
                        "max_proto_version {}",
                        *min_proto, *max_proto));
    }
    if (*min_proto > server_max) {
        protocol_error(fmt::format("client requires protocol version {} or later", *min_proto),
                       supported);
    }
    if (*max_proto < server_min) {
        protocol_error(
            fmt::format("client supports only protocol version {} or earlier", *max_proto),
            supported);
    }
    p.client_min_proto_version = *min_proto;
    p.client_max_proto_version = *max_proto;
    p.proto_version = std::min(*max_proto, server_max);
    return p;
}

BinaryFormats negotiate_binary_formats(const BinaryRequest& req, const BinaryTraits& server) {
    BinaryFormats f;
    const bool same_major = req.basetypes_major_version == server.basetypes_major_version;
    auto matches = [](const auto& sent, const auto& ours) { return !sent || *sent == ours; };
    f.internal = req.want_internal_basetypes && same_major &&
                 matches(req.bigendian, server.bigendian) &&
                 matches(req.sizeof_datum, server.sizeof_datum) &&
                 matches(req.sizeof_int, server.sizeof_int) &&
                 matches(req.sizeof_long, server.sizeof_long) &&
                 matches(req.float4_byval, server.float4_byval) &&
                 matches(req.float8_byval, server.float8_byval) &&
                 matches(req.integer_datetimes, server.integer_datetimes);
    f.binary = req.want_binary_basetypes && same_major;
    return f;
}

std::vector<std::pair<std::string, std::string>> server_startup_params(
    const ServerStartupInputs& in) {
    std::vector<std::pair<std::string, std::string>> params;
    auto add = [&params](std::string key, std::string value) {
        params.emplace_back(std::move(key), std::move(value));
    };
    add("max_proto_version", std::to_string(kMaxProtoVersion));
    add("min_proto_version", std::to_string(kMinProtoVersion));
    add("coltypes", "f");
    add("pg_version_num", std::to_string(in.pg_version_num));
    add("pg_version", in.pg_version);
    add("pg_catversion", std::to_string(in.pg_catversion));
    add("database_encoding", in.database_encoding);
    add("encoding", in.database_encoding);  // native output is in the database encoding
    add("forward_changeset_origins", "t");
    add("walsender_pid", std::to_string(in.walsender_pid));
    add("spock_version", in.spock_version);
    add("spock_version_num", std::to_string(in.spock_version_num));
    add("binary.internal_basetypes", bool_letter(in.formats.internal));
    add("binary.binary_basetypes", bool_letter(in.formats.binary));
    add("binary.basetypes_major_version", std::to_string(in.binary.basetypes_major_version));
    add("binary.sizeof_int", std::to_string(in.binary.sizeof_int));
    add("binary.sizeof_long", std::to_string(in.binary.sizeof_long));
    add("binary.sizeof_datum", std::to_string(in.binary.sizeof_datum));
    add("binary.maxalign", std::to_string(in.maxalign));
    add("binary.bigendian", bool_letter(in.binary.bigendian));
    add("binary.float4_byval", bool_letter(in.binary.float4_byval));
    add("binary.float8_byval", bool_letter(in.binary.float8_byval));
    add("binary.integer_datetimes", bool_letter(in.binary.integer_datetimes));
    add("binary.binary_pg_version", std::to_string(in.binary.basetypes_major_version));
    add("no_txinfo", bool_letter(in.no_txinfo));
    return params;
}

}  // namespace spock::core
