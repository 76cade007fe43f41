// Deterministic ids and names (reference section 0), byte-compatible with Spock 5.
#include "spock/core/names.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "spock/core/error.hpp"
#include "spock/core/hash.hpp"
#include "spock/core/hex.hpp"

namespace spock::core {

namespace {

// Keywords that quote_identifier() must quote: every PostgreSQL 15 keyword whose category is
// not "unreserved" (SELECT word FROM pg_get_keywords() WHERE catcode <> 'U'), sorted.
// clang-format off
constexpr std::array<std::string_view, 151> kQuotedKeywords = {
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character",
    "check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc",
    "distinct", "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float",
    "for", "foreign", "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having",
    "ilike", "in", "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into",
    "is", "isnull", "join", "lateral", "leading", "least", "left", "like", "limit", "localtime",
    "localtimestamp", "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null",
    "nullif", "numeric", "offset", "on", "only", "or", "order", "out", "outer", "overlaps",
    "overlay", "placing", "position", "precision", "primary", "real", "references", "returning",
    "right", "row", "select", "session_user", "setof", "similar", "smallint", "some", "substring",
    "symmetric", "table", "tablesample", "then", "time", "timestamp", "to", "trailing", "treat",
    "trim", "true", "union", "unique", "user", "using", "values", "varchar", "variadic", "verbose",
    "when", "where", "window", "with", "xmlattributes", "xmlconcat", "xmlelement", "xmlexists",
    "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi", "xmlroot", "xmlserialize", "xmltable",
};
// clang-format on

constexpr std::string_view kMask = "********";

bool is_lower_digit_underscore(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

// Lower-case hex of a hash, always eight digits (printf "%08x").
std::string hex8(HashValue h) {
    std::array<char, 9> buf{};
    std::snprintf(buf.data(), buf.size(), "%08x", h);
    return std::string(buf.data(), 8);
}

// What snprintf(buf, kNameDataLen, ...) leaves: at most 63 bytes.
std::string clip_to_name(std::string s) {
    if (s.size() > kNameDataLen - 1) {
        s.resize(kNameDataLen - 1);
    }
    return s;
}

// Length of the longest prefix of s of at most max_bytes that does not split a UTF-8
// sequence, as PostgreSQL's pg_mbcliplen does for a UTF-8 database.
std::size_t utf8_clip_len(std::string_view s, std::size_t max_bytes) noexcept {
    if (s.size() <= max_bytes) {
        return s.size();
    }
    std::size_t len = max_bytes;
    // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
    while (len > 0 && (static_cast<unsigned char>(s[len]) & 0xC0) == 0x80) {
        --len;
    }
    return len;
}

// scanner_isspace(): the whitespace PostgreSQL's lexer knows.
bool is_sql_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// libpq's conninfo whitespace (isspace in the C locale).
bool is_conninfo_space(char c) noexcept {
    return is_sql_space(c);
}

}  // namespace

NodeId node_id(std::string_view node_name) noexcept {
    return hash_bytes(node_name) & 0xFFFFU;
}

InterfaceId interface_id(NodeId node, std::string_view if_name) noexcept {
    const std::array<std::uint32_t, 2> key = {node, hash_bytes(if_name)};
    return hash_uint32_words(key);
}

SetId set_id(NodeId node, std::string_view set_name) noexcept {
    const std::array<std::uint32_t, 2> key = {node, hash_bytes(set_name)};
    return hash_uint32_words(key);
}

SubscriptionId subscription_id(std::string_view sub_name) noexcept {
    return hash_bytes(sub_name);
}

// Spock formats "%.*s%08x" with precision maxlen - 8 into a buffer of maxlen bytes, so the
// last hex digit falls off: for maxlen 16 that is 8 name bytes + 7 hex digits = 15 bytes. The
// reference only spells out maxlen 16 ("first 8 bytes"); maxlen - 8 is the generalisation that
// keeps the result at maxlen - 1 bytes for application names. The cut is byte-wise and may
// split a multi-byte character, as in Spock.
std::string shorten_hash(std::string_view s, std::size_t maxlen) {
    if (maxlen <= 8) {
        throw Error(sqlstate::kInternalError, "shorten_hash needs a maximum length above 8");
    }
    if (s.size() <= maxlen) {
        return std::string(s);
    }
    std::string out(s.substr(0, maxlen - 8));
    out += hex8(hash_bytes(s));
    out.resize(maxlen - 1);
    return out;
}

std::string gen_slot_name(std::string_view dbname, std::string_view provider_node_name,
                          std::string_view sub_name) {
    std::string name = "spk_" + shorten_hash(dbname, kSlotNamePartLen) + "_" +
                       shorten_hash(provider_node_name, kSlotNamePartLen) + "_" +
                       shorten_hash(sub_name, kSlotNamePartLen);
    name = clip_to_name(std::move(name));
    // Slot names only allow [a-z0-9_]; Spock replaces byte by byte, upper case included.
    std::replace_if(
        name.begin(), name.end(), [](char c) { return !is_lower_digit_underscore(c); }, '_');
    return name;
}

std::string sync_slot_name(std::string_view sub_slot_name, std::string_view qualified_relname) {
    return clip_to_name(std::string(sub_slot_name) + "_" + hex8(hash_bytes(qualified_relname)));
}

std::string application_name(std::string_view name, std::string_view suffix) {
    if (suffix.empty()) {
        return std::string(name);
    }
    if (suffix.size() + 2 + 8 >= kNameDataLen) {
        throw Error(sqlstate::kInternalError, "application_name suffix is too long");
    }
    const std::size_t maxlen = kNameDataLen - suffix.size() - 2;
    return clip_to_name(shorten_hash(name, maxlen) + "_" + std::string(suffix));
}

bool is_valid_subscription_name(std::string_view name) noexcept {
    return !name.empty() && name.size() < kNameDataLen &&
           std::all_of(name.begin(), name.end(), is_lower_digit_underscore);
}

std::string quote_identifier(std::string_view ident) {
    const bool plain = !ident.empty() &&
                       ((ident[0] >= 'a' && ident[0] <= 'z') || ident[0] == '_') &&
                       std::all_of(ident.begin(), ident.end(), is_lower_digit_underscore);
    if (plain && !std::binary_search(kQuotedKeywords.begin(), kQuotedKeywords.end(), ident)) {
        return std::string(ident);
    }
    std::string out = "\"";
    for (char c : ident) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    out += '"';
    return out;
}

std::string quote_qualified_identifier(std::string_view schema, std::string_view rel) {
    return quote_identifier(schema) + "." + quote_identifier(rel);
}

std::string join_quoted(std::span<const std::string> names) {
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (i > 0) {
            out += ',';
        }
        out += quote_identifier(names[i]);
    }
    return out;
}

namespace {

[[noreturn]] void throw_bad_list(std::string_view list) {
    throw Error(sqlstate::kInvalidParameterValue, "invalid identifier list syntax",
                "The list was: " + std::string(list) + ".");
}

// Reads one quoted item starting at the opening quote; pos ends after the closing quote.
std::string read_quoted_item(std::string_view list, std::size_t& pos) {
    std::string item;
    ++pos;
    for (;;) {
        if (pos >= list.size()) {
            throw_bad_list(list);
        }
        if (list[pos] == '"') {
            if (pos + 1 < list.size() && list[pos + 1] == '"') {
                item += '"';
                pos += 2;
                continue;
            }
            ++pos;
            return item;
        }
        item += list[pos++];
    }
}

// Reads one unquoted item, lower-casing ASCII letters as downcase_identifier() does.
std::string read_unquoted_item(std::string_view list, std::size_t& pos) {
    std::string item;
    while (pos < list.size() && list[pos] != ',' && !is_sql_space(list[pos])) {
        char c = list[pos++];
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
        item += c;
    }
    if (item.empty()) {
        throw_bad_list(list);
    }
    return item;
}

void skip_sql_space(std::string_view s, std::size_t& pos) noexcept {
    while (pos < s.size() && is_sql_space(s[pos])) {
        ++pos;
    }
}

}  // namespace

std::vector<std::string> split_identifier_list(std::string_view list) {
    std::vector<std::string> items;
    std::size_t pos = 0;
    skip_sql_space(list, pos);
    if (pos == list.size()) {
        return items;  // an empty list is allowed
    }
    for (;;) {
        std::string item =
            list[pos] == '"' ? read_quoted_item(list, pos) : read_unquoted_item(list, pos);
        item.resize(utf8_clip_len(item, kNameDataLen - 1));
        items.push_back(std::move(item));
        skip_sql_space(list, pos);
        if (pos == list.size()) {
            return items;
        }
        if (list[pos] != ',') {
            throw_bad_list(list);
        }
        ++pos;
        skip_sql_space(list, pos);
        if (pos == list.size()) {
            throw_bad_list(list);  // a trailing comma leaves an empty item
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Password masking

namespace {

// A byte range [begin, end) of the DSN to be replaced by the mask.
struct Span {
    std::size_t begin;
    std::size_t end;
};

constexpr std::string_view kPasswordKey = "password";

// ASCII case-insensitive equality; libpq keywords are case-sensitive, but masking a
// misspelt PASSWORD= too costs nothing.
bool equals_ignore_case(std::string_view a, std::string_view b) noexcept {
    auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(),
                                              [&](char x, char y) { return lower(x) == lower(y); });
}

// Position of the first "password" in any letter case, or npos.
std::size_t find_password_word(std::string_view s) noexcept {
    for (std::size_t i = 0; i + kPasswordKey.size() <= s.size(); ++i) {
        if (equals_ignore_case(s.substr(i, kPasswordKey.size()), kPasswordKey)) {
            return i;
        }
    }
    return std::string_view::npos;
}

bool has_uri_prefix(std::string_view dsn) noexcept {
    return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

// A URI component with its %XX escapes decoded, as libpq decodes query keywords and values
// before it looks at them. An invalid escape (which makes libpq refuse the URI) is kept as it
// is.
std::string percent_decode(std::string_view s) {
    const auto hex = hex_digit_value;
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
            out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// Password spans of a URI: the part after ':' in user:password@, and the values of query
// parameters whose keyword is "password" once percent-decoded (pass%77ord=... is password=...
// to libpq).
std::vector<Span> uri_password_spans(std::string_view uri) {
    std::vector<Span> spans;
    const std::size_t start = uri.find("://") + 3;
    // libpq takes user info to end at the first '@' met before any '/'. A password with a
    // raw '@' in it is malformed, and libpq would then put its tail into the host name (and
    // error messages): mask up to the last '@' before the path or query instead.
    std::size_t at = std::string_view::npos;
    std::size_t first_at = std::string_view::npos;
    for (std::size_t i = start; i < uri.size() && uri[i] != '/' && uri[i] != '?'; ++i) {
        if (uri[i] == '@') {
            at = i;
            if (first_at == std::string_view::npos) {
                first_at = i;
            }
        }
    }
    if (at != std::string_view::npos) {
        const std::size_t colon = uri.substr(0, first_at).find(':', start);
        if (colon != std::string_view::npos) {
            spans.push_back({colon + 1, at});
        }
    }
    const std::size_t query = uri.find('?', start);
    if (query == std::string_view::npos) {
        return spans;
    }
    std::size_t pos = query + 1;
    while (pos < uri.size()) {
        std::size_t amp = uri.find('&', pos);
        if (amp == std::string_view::npos) {
            amp = uri.size();
        }
        const std::string_view param = uri.substr(pos, amp - pos);
        const std::size_t eq = param.find('=');
        if (eq != std::string_view::npos &&
            equals_ignore_case(percent_decode(param.substr(0, eq)), kPasswordKey)) {
            spans.push_back({pos + eq + 1, amp});
        }
        pos = amp + 1;
    }
    return spans;
}

// Where a key/value conninfo value ends. Quoted values end after the closing quote,
// unquoted ones at whitespace; a backslash escapes the next byte in both, as in libpq.
// Returns npos for an unterminated quote.
std::size_t conninfo_value_end(std::string_view dsn, std::size_t pos) noexcept {
    const bool quoted = pos < dsn.size() && dsn[pos] == '\'';
    if (quoted) {
        ++pos;
    }
    while (pos < dsn.size()) {
        const char c = dsn[pos];
        if (c == '\\' && pos + 1 < dsn.size()) {
            pos += 2;
            continue;
        }
        if (quoted ? c == '\'' : is_conninfo_space(c)) {
            return quoted ? pos + 1 : pos;
        }
        ++pos;
    }
    return quoted ? std::string_view::npos : pos;
}

// The value of a key/value item with quotes and backslash escapes removed.
std::string conninfo_unescape(std::string_view value) {
    if (!value.empty() && value.front() == '\'') {
        value = value.substr(1, value.size() >= 2 ? value.size() - 2 : 0);
    }
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && i + 1 < value.size()) {
            ++i;
        }
        out += value[i];
    }
    return out;
}

// A value as a single-quoted conninfo literal.
std::string conninfo_quote(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '\'';
    return out;
}

// Replaces the given ascending, non-overlapping spans of text by replacement texts.
std::string splice(std::string_view text, const std::vector<Span>& spans,
                   const std::vector<std::string>& replacements) {
    std::string out;
    std::size_t pos = 0;
    for (std::size_t i = 0; i < spans.size(); ++i) {
        out.append(text.substr(pos, spans[i].begin - pos));
        out += replacements[i];
        pos = spans[i].end;
    }
    out.append(text.substr(pos));
    return out;
}

std::string mask_conninfo(std::string_view dsn);

// Masks a key/value conninfo. A dbname value may itself be a conninfo or URI (libpq expands
// it), so it is masked recursively. If the string cannot be parsed, everything after the first
// word "password" is masked, like Spock's log filter, rather than risk leaking it.
std::string mask_key_value(std::string_view dsn) {
    std::vector<Span> spans;
    std::vector<std::string> replacements;
    std::size_t pos = 0;
    for (;;) {
        while (pos < dsn.size() && is_conninfo_space(dsn[pos])) {
            ++pos;
        }
        if (pos == dsn.size()) {
            return splice(dsn, spans, replacements);
        }
        const std::size_t key_begin = pos;
        while (pos < dsn.size() && dsn[pos] != '=' && !is_conninfo_space(dsn[pos])) {
            ++pos;
        }
        const std::string_view key = dsn.substr(key_begin, pos - key_begin);
        while (pos < dsn.size() && is_conninfo_space(dsn[pos])) {
            ++pos;
        }
        if (pos == dsn.size() || dsn[pos] != '=') {
            break;
        }
        ++pos;
        while (pos < dsn.size() && is_conninfo_space(dsn[pos])) {
            ++pos;
        }
        const std::size_t value_end = conninfo_value_end(dsn, pos);
        if (value_end == std::string_view::npos) {
            break;
        }
        const std::string_view raw = dsn.substr(pos, value_end - pos);
        if (equals_ignore_case(key, kPasswordKey)) {
            spans.push_back({pos, value_end});
            replacements.emplace_back(kMask);
        } else if (key == "dbname") {
            const std::string inner = conninfo_unescape(raw);
            const std::string masked = mask_conninfo(inner);
            if (masked != inner) {
                spans.push_back({pos, value_end});
                replacements.push_back(conninfo_quote(masked));
            }
        }
        pos = value_end;
    }
    std::string partial = splice(dsn, spans, replacements);
    const std::size_t word = find_password_word(partial);
    if (word != std::string::npos) {
        partial.resize(word + kPasswordKey.size());
        partial += "=";
        partial += kMask;
    }
    return partial;
}

std::string mask_conninfo(std::string_view dsn) {
    if (has_uri_prefix(dsn)) {
        const std::vector<Span> spans = uri_password_spans(dsn);
        return splice(dsn, spans, std::vector<std::string>(spans.size(), std::string(kMask)));
    }
    if (dsn.find('=') == std::string_view::npos) {
        return std::string(dsn);  // a bare database name, as libpq would read it
    }
    return mask_key_value(dsn);
}

}  // namespace

std::string mask_password(std::string_view dsn) {
    return mask_conninfo(dsn);
}

}  // namespace spock::core
