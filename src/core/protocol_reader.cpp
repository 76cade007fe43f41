// ByteReader's error paths and the helpers that render wire bytes in error texts.
#include "spock/core/protocol_reader.hpp"

#include <fmt/format.h>

#include "spock/core/error.hpp"

namespace spock::core {

namespace {

constexpr std::size_t kMaxShownBytes = 64;

bool is_printable(unsigned char c) noexcept {
    return c >= 0x20 && c < 0x7f;
}

}  // namespace

void ByteReader::fail_at(std::size_t offset, std::string_view what) const {
    std::string prefix = kind_.empty() ? std::string("malformed message")
                                       : fmt::format("malformed {} message", kind_);
    throw Error(sqlstate::kProtocolViolation,
                fmt::format("{}: {} at offset {}", prefix, what, offset));
}

void ByteReader::fail_short(std::size_t n, std::string_view field) const {
    fail(fmt::format("{} needs {} bytes, only {} remain", field, n, remaining()));
}

std::string_view ByteReader::cstring(std::string_view field) {
    std::string_view rest = bytes_.substr(pos_);
    std::size_t nul = rest.find('\0');
    if (nul == std::string_view::npos) {
        fail(fmt::format("{} is not NUL-terminated within the {} remaining bytes", field,
                         rest.size()));
    }
    pos_ += nul + 1;
    return rest.substr(0, nul);
}

void ByteReader::expect_end() const {
    if (!at_end()) {
        fail(fmt::format("{} unexpected trailing bytes", remaining()));
    }
}

std::string printable_bytes(std::string_view bytes) {
    std::string out;
    std::size_t shown = 0;
    for (char ch : bytes) {
        if (shown == kMaxShownBytes) {
            out += "...";
            break;
        }
        auto c = static_cast<unsigned char>(ch);
        if (is_printable(c) && c != '\\') {
            out.push_back(ch);
        } else {
            out += fmt::format("\\x{:02x}", c);
        }
        ++shown;
    }
    return out;
}

std::string describe_byte(std::uint8_t b) {
    if (is_printable(b) && b != '\'' && b != '\\') {
        return fmt::format("'{}'", static_cast<char>(b));
    }
    return fmt::format("0x{:02x}", b);
}

}  // namespace spock::core
