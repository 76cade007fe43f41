// Big-endian (network order) integers, as PostgreSQL's pq_sendint16/32/64 write them and
// pq_getmsgint/pq_getmsgint64 read them. The put_* functions append to a byte buffer; the get_*
// functions read from a pointer the caller has already bounds-checked (see protocol_reader.hpp).
#pragma once

#include <cstdint>
#include <string>

namespace spock::core {

inline void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(static_cast<char>(v));
}

inline void put_u16(std::string& out, std::uint16_t v) {
    put_u8(out, static_cast<std::uint8_t>(v >> 8));
    put_u8(out, static_cast<std::uint8_t>(v));
}

inline void put_u32(std::string& out, std::uint32_t v) {
    put_u16(out, static_cast<std::uint16_t>(v >> 16));
    put_u16(out, static_cast<std::uint16_t>(v));
}

inline void put_u64(std::string& out, std::uint64_t v) {
    put_u32(out, static_cast<std::uint32_t>(v >> 32));
    put_u32(out, static_cast<std::uint32_t>(v));
}

// Two's complement is guaranteed since C++20, so the signed forms are plain conversions.
inline void put_i32(std::string& out, std::int32_t v) {
    put_u32(out, static_cast<std::uint32_t>(v));
}

inline void put_i64(std::string& out, std::int64_t v) {
    put_u64(out, static_cast<std::uint64_t>(v));
}

inline std::uint8_t get_u8(const char* p) noexcept {
    return static_cast<std::uint8_t>(*p);
}

inline std::uint16_t get_u16(const char* p) noexcept {
    return static_cast<std::uint16_t>((get_u8(p) << 8) | get_u8(p + 1));
}

inline std::uint32_t get_u32(const char* p) noexcept {
    return (static_cast<std::uint32_t>(get_u16(p)) << 16) | get_u16(p + 2);
}

inline std::uint64_t get_u64(const char* p) noexcept {
    return (static_cast<std::uint64_t>(get_u32(p)) << 32) | get_u32(p + 4);
}

inline std::int32_t get_i32(const char* p) noexcept {
    return static_cast<std::int32_t>(get_u32(p));
}

inline std::int64_t get_i64(const char* p) noexcept {
    return static_cast<std::int64_t>(get_u64(p));
}

}  // namespace spock::core
