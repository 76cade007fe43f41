// PostgreSQL's hash_any (hash_bytes) and hash_uint32, re-implemented bit for bit.
//
// Spock derives node, interface, set and subscription ids and slot-name suffixes from
// hash_any, and peers compare those ids, so ours must produce exactly the server's bits.
// PostgreSQL 15 uses Bob Jenkins' lookup3 mixing with its own seed and tail layout; the
// result depends on the host byte order, and only little-endian hosts are supported here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace spock::core {

// A 32-bit hash value as returned by hash_any (a Datum holding a uint32 in PostgreSQL).
using HashValue = std::uint32_t;

// hash_any over a byte range (PostgreSQL: hash_bytes).
HashValue hash_bytes(std::span<const std::byte> bytes) noexcept;

// hash_any over the bytes of a string, without any terminating NUL. For a text value in a
// deterministic collation this equals SQL hashtext() reinterpreted as unsigned.
HashValue hash_bytes(std::string_view s) noexcept;

// hash_uint32: PostgreSQL's fast path for hashing one 4-byte integer (SQL hashint4()). It
// equals hash_bytes over the integer's four native-order bytes.
HashValue hash_uint32(std::uint32_t k) noexcept;

// hash_any over uint32 words laid out in native byte order, as Spock hashes uint32[2]
// {node_id, name_hash} for interface and set ids (SQL hashoidvector() does the same).
HashValue hash_uint32_words(std::span<const std::uint32_t> words) noexcept;

}  // namespace spock::core
