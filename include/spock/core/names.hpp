// Deterministic ids and names shared with Spock 5 peers (reference section 0).
//
// Node, interface, set and subscription ids are hashes of names, slot and origin names are
// derived from database, node and subscription names, and peers look these up by value, so
// every function here reproduces Spock's bytes exactly, quirks included where noted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace spock::core {

// Ids live in PostgreSQL oid columns, hence 32-bit types. A node id only uses the low 16 bits
// because it doubles as the replication origin id written into WAL and commit_ts.
using NodeId = std::uint32_t;
using InterfaceId = std::uint32_t;
using SetId = std::uint32_t;
using SubscriptionId = std::uint32_t;

// PostgreSQL's NAMEDATALEN: a `name` holds at most kNameDataLen - 1 bytes.
inline constexpr std::size_t kNameDataLen = 64;

// Width of the shorten_hash() pieces in slot names (Spock's sh(s, 16)).
inline constexpr std::size_t kSlotNamePartLen = 16;

// hash_any(node_name) & 0xFFFF.
NodeId node_id(std::string_view node_name) noexcept;

// hash_any over uint32[2]{node, hash_any(if_name)} in native byte order.
InterfaceId interface_id(NodeId node, std::string_view if_name) noexcept;

// hash_any over uint32[2]{node, hash_any(set_name)} in native byte order.
SetId set_id(NodeId node, std::string_view set_name) noexcept;

// hash_any(sub_name), all 32 bits.
SubscriptionId subscription_id(std::string_view sub_name) noexcept;

// Spock's shorten_hash(s, maxlen): s itself when it has at most maxlen bytes, otherwise its
// first maxlen - 8 bytes followed by %08x of hash_any(s), cut to maxlen - 1 bytes in total
// (an artefact of Spock's snprintf buffer size that peers depend on). Requires maxlen > 8.
std::string shorten_hash(std::string_view s, std::size_t maxlen);

// Slot and replication-origin name of a subscription:
// "spk_" sh(db) "_" sh(provider) "_" sh(sub), every byte outside [a-z0-9_] replaced by '_'.
std::string gen_slot_name(std::string_view dbname, std::string_view provider_node_name,
                          std::string_view sub_name);

// Slot and origin name of a per-table sync: sub slot + "_" + %08x of hash_any(qualified),
// where qualified is quote_qualified_identifier(schema, table) as text.
std::string sync_slot_name(std::string_view sub_slot_name, std::string_view qualified_relname);

// application_name for libpq connections: name alone when suffix is empty, else
// shorten_hash(name, 64 - len(suffix) - 2) + "_" + suffix.
std::string application_name(std::string_view name, std::string_view suffix = {});

// A subscription name must match [a-z0-9_]+ and fit in a `name` (fewer than 64 bytes).
bool is_valid_subscription_name(std::string_view name) noexcept;

// The conninfo string with every password value replaced by "********", so that a DSN can go
// into an error detail. Handles key/value conninfo (quoted or not, also a conninfo nested in
// dbname) and postgres[ql]:// URIs (user:password@ and a password= query parameter).
std::string mask_password(std::string_view dsn);

// PostgreSQL's quote_identifier(): the text unchanged when it is a safe lower-case identifier
// ([a-z_][a-z0-9_]*) that is not a non-unreserved keyword, else double-quoted with embedded
// quotes doubled. quote_all_identifiers is not honoured (core has no GUCs).
std::string quote_identifier(std::string_view ident);

// quote_identifier(schema) "." quote_identifier(rel), as quote_qualified_identifier() does.
std::string quote_qualified_identifier(std::string_view schema, std::string_view rel);

// Comma-separated quote_identifier() of each name, no spaces: the replication_sets column of
// node_info(), e.g. "default",default_insert_only,ddl_sql (default is a reserved word).
std::string join_quoted(std::span<const std::string> names);

// Inverse of join_quoted() with SplitIdentifierString() rules: whitespace around items is
// ignored, quoted items keep their case with "" meaning ", unquoted items are lower-cased
// (ASCII). Items are truncated to 63 bytes. Throws Error (22023) on malformed input.
std::vector<std::string> split_identifier_list(std::string_view list);

}  // namespace spock::core
