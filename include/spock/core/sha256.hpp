// SHA-256 (FIPS 180-4) and HMAC-SHA-256 (RFC 2104), for authenticating spock's own WAL
// messages. Pure C++: usable anywhere, including where no PostgreSQL resource owner exists.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace spock::core {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Digest = std::array<std::uint8_t, kSha256Size>;

class Sha256 {
  public:
    Sha256() noexcept;
    void update(std::string_view data) noexcept;
    Sha256Digest finish() noexcept;

  private:
    void block(const std::uint8_t* p) noexcept;
    std::array<std::uint32_t, 8> h_;
    std::array<std::uint8_t, 64> buf_{};
    std::size_t used_ = 0;
    std::uint64_t total_ = 0;
};

Sha256Digest sha256(std::string_view data) noexcept;
Sha256Digest hmac_sha256(std::string_view key, std::string_view data) noexcept;

// Compares without an early exit, so the time taken says nothing about where they differ.
bool equal_in_constant_time(std::string_view a, std::string_view b) noexcept;

}  // namespace spock::core
