// Write-ahead log positions and commit timestamps as the wire protocol carries them.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace spock::core {

// A WAL position (PostgreSQL's XLogRecPtr / pg_lsn). 0 is InvalidXLogRecPtr.
struct Lsn {
    std::uint64_t value = 0;

    constexpr bool is_valid() const noexcept { return value != 0; }
    constexpr auto operator<=>(const Lsn&) const noexcept = default;

    // "X/Y" in upper-case hex without padding, as pg_lsn_out prints it (e.g. "16/B374D848").
    std::string to_string() const;

    // pg_lsn_in's syntax: 1 to 8 hex digits, '/', 1 to 8 hex digits, nothing else (no spaces).
    static std::optional<Lsn> try_parse(std::string_view text) noexcept;
    // As try_parse, throwing core::Error (22P02) on bad input.
    static Lsn parse(std::string_view text);
};

inline constexpr Lsn kInvalidLsn{};

// A PostgreSQL TimestampTz: microseconds since 2000-01-01 00:00:00 UTC.
struct TimestampUs {
    std::int64_t value = 0;

    constexpr auto operator<=>(const TimestampUs&) const noexcept = default;
};

// Seconds between the Unix epoch and PostgreSQL's epoch (2000-01-01).
inline constexpr std::int64_t kPostgresEpochUnixSeconds = 946684800;

constexpr TimestampUs timestamp_from_unix_us(std::int64_t unix_us) noexcept {
    return TimestampUs{unix_us - kPostgresEpochUnixSeconds * 1000000};
}

constexpr std::int64_t timestamp_to_unix_us(TimestampUs ts) noexcept {
    return ts.value + kPostgresEpochUnixSeconds * 1000000;
}

}  // namespace spock::core
