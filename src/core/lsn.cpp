// Lsn text form, following pg_lsn_in / pg_lsn_out.
#include "spock/core/lsn.hpp"

#include <fmt/format.h>

#include "spock/core/error.hpp"
#include "spock/core/hex.hpp"

namespace spock::core {

namespace {

// pg_lsn_in reports bad input as invalid_text_representation.
constexpr std::string_view kInvalidTextRepresentation = "22P02";

// pg_lsn_in allows at most 8 hex digits per half (MAXPG_LSNCOMPONENT).
constexpr std::size_t kMaxHalfDigits = 8;

// Parses the hex digits at the start of text; returns how many were consumed (0 = none).
std::size_t parse_half(std::string_view text, std::uint32_t& out) noexcept {
    std::size_t n = 0;
    std::uint32_t v = 0;
    while (n < text.size() && hex_digit_value(text[n]) >= 0) {
        if (n == kMaxHalfDigits) {
            return 0;
        }
        v = (v << 4) | static_cast<std::uint32_t>(hex_digit_value(text[n]));
        ++n;
    }
    out = v;
    return n;
}

}  // namespace

std::string Lsn::to_string() const {
    return fmt::format("{:X}/{:X}", static_cast<std::uint32_t>(value >> 32),
                       static_cast<std::uint32_t>(value));
}

std::optional<Lsn> Lsn::try_parse(std::string_view text) noexcept {
    std::uint32_t hi = 0;
    std::uint32_t lo = 0;
    std::size_t n1 = parse_half(text, hi);
    if (n1 == 0 || n1 >= text.size() || text[n1] != '/') {
        return std::nullopt;
    }
    std::string_view rest = text.substr(n1 + 1);
    std::size_t n2 = parse_half(rest, lo);
    if (n2 == 0 || n2 != rest.size()) {
        return std::nullopt;
    }
    return Lsn{(static_cast<std::uint64_t>(hi) << 32) | lo};
}

Lsn Lsn::parse(std::string_view text) {
    if (auto lsn = try_parse(text)) {
        return *lsn;
    }
    throw Error(kInvalidTextRepresentation,
                fmt::format("invalid input syntax for type pg_lsn: \"{}\"", text));
}

}  // namespace spock::core
