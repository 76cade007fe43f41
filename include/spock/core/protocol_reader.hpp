// A bounds-checked cursor over received bytes. Every read checks that the bytes are there
// first; a failed check raises core::Error 08P01 (protocol_violation) naming the message kind,
// the problem and the byte offset, e.g.
//   malformed RELATION message: column name needs 70 bytes, only 12 remain at offset 31
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "spock/core/byte_order.hpp"

namespace spock::core {

class ByteReader {
  public:
    // kind names the message in error texts ("RELATION"); empty gives "malformed message: ...".
    explicit ByteReader(std::string_view bytes, std::string_view kind = {}) noexcept
        : bytes_(bytes), kind_(kind) {}

    void set_kind(std::string_view kind) noexcept { kind_ = kind; }

    std::size_t offset() const noexcept { return pos_; }
    std::size_t remaining() const noexcept { return bytes_.size() - pos_; }
    bool at_end() const noexcept { return pos_ == bytes_.size(); }

    // Raises the protocol violation for a problem found at offset (default: the cursor).
    [[noreturn]] void fail(std::string_view what) const { fail_at(pos_, what); }
    [[noreturn]] void fail_at(std::size_t offset, std::string_view what) const;

    // field names what is being read, for the error text.
    std::uint8_t u8(std::string_view field) { return get_u8(take(1, field)); }
    std::uint16_t u16(std::string_view field) { return get_u16(take(2, field)); }
    std::uint32_t u32(std::string_view field) { return get_u32(take(4, field)); }
    std::int32_t i32(std::string_view field) { return get_i32(take(4, field)); }
    std::uint64_t u64(std::string_view field) { return get_u64(take(8, field)); }
    std::int64_t i64(std::string_view field) { return get_i64(take(8, field)); }

    std::string_view bytes(std::size_t n, std::string_view field) {
        return std::string_view(take(n, field), n);
    }

    // A NUL-terminated string; returns it without the NUL and moves past the NUL.
    std::string_view cstring(std::string_view field);

    // The message must have been consumed completely.
    void expect_end() const;

  private:
    const char* take(std::size_t n, std::string_view field) {
        if (n > remaining()) {
            fail_short(n, field);
        }
        const char* p = bytes_.data() + pos_;
        pos_ += n;
        return p;
    }

    [[noreturn]] void fail_short(std::size_t n, std::string_view field) const;

    std::string_view bytes_;
    std::string_view kind_;
    std::size_t pos_ = 0;
};

// Bytes from the wire shown safely in an error text: printable ASCII as is, anything else as
// \xNN, cut after 64 input bytes with "...".
std::string printable_bytes(std::string_view bytes);

// A marker or type byte for an error text: 'X' when printable, else 0xNN.
std::string describe_byte(std::uint8_t b);

}  // namespace spock::core
