// lookup3-style hashing as PostgreSQL 15 implements hash_bytes and hash_uint32.
//
// Written from the published description of Bob Jenkins' lookup3 (mix and final rounds with
// their rotation constants) plus PostgreSQL's two deviations: the seed adds 3923095 to the
// length, and the tail keeps the lowest byte of c free (tail bytes 8..10 go to c's bytes 1..3).
#include "spock/core/hash.hpp"

#include <bit>
#include <cstring>

namespace spock::core {

static_assert(std::endian::native == std::endian::little,
              "hash_any's result depends on the byte order; only little-endian is supported");

namespace {

// The three-word state lookup3 stirs.
struct HashState {
    std::uint32_t a;
    std::uint32_t b;
    std::uint32_t c;
};

// PostgreSQL's initial value for all three words of a key of `len` bytes.
constexpr std::uint32_t seed_for_length(std::size_t len) noexcept {
    return 0x9e3779b9U + static_cast<std::uint32_t>(len) + 3923095U;
}

// Reversibly mixes three words after each 12-byte block (lookup3 "mix").
void mix(HashState& s) noexcept {
    s.a -= s.c;
    s.a ^= std::rotl(s.c, 4);
    s.c += s.b;
    s.b -= s.a;
    s.b ^= std::rotl(s.a, 6);
    s.a += s.c;
    s.c -= s.b;
    s.c ^= std::rotl(s.b, 8);
    s.b += s.a;
    s.a -= s.c;
    s.a ^= std::rotl(s.c, 16);
    s.c += s.b;
    s.b -= s.a;
    s.b ^= std::rotl(s.a, 19);
    s.a += s.c;
    s.c -= s.b;
    s.c ^= std::rotl(s.b, 4);
    s.b += s.a;
}

// Final avalanche so that every input bit affects every bit of c (lookup3 "final").
void final_mix(HashState& s) noexcept {
    s.c ^= s.b;
    s.c -= std::rotl(s.b, 14);
    s.a ^= s.c;
    s.a -= std::rotl(s.c, 11);
    s.b ^= s.a;
    s.b -= std::rotl(s.a, 25);
    s.c ^= s.b;
    s.c -= std::rotl(s.b, 16);
    s.a ^= s.c;
    s.a -= std::rotl(s.c, 4);
    s.b ^= s.a;
    s.b -= std::rotl(s.a, 14);
    s.c ^= s.b;
    s.c -= std::rotl(s.b, 24);
}

// Reads four bytes as a little-endian word; memcpy keeps unaligned input well defined.
std::uint32_t load_word(const std::byte* p) noexcept {
    std::uint32_t w;
    std::memcpy(&w, p, sizeof w);
    return w;
}

// Adds the up-to-11 trailing bytes. Bytes 0..7 fill a and b from their lowest byte up; bytes
// 8..10 fill c starting at its second byte, because PostgreSQL reserves c's low byte (a relic of
// the older lookup2 that stored the length there).
void add_tail(HashState& s, const std::byte* p, std::size_t len) noexcept {
    std::uint32_t words[3] = {0, 0, 0};
    for (std::size_t i = 0; i < len; ++i) {
        const auto byte = std::to_integer<std::uint32_t>(p[i]);
        const std::size_t word = i / 4;
        const std::size_t shift = word == 2 ? (i % 4 + 1) * 8 : (i % 4) * 8;
        words[word] += byte << shift;
    }
    s.a += words[0];
    s.b += words[1];
    s.c += words[2];
}

}  // namespace

HashValue hash_bytes(std::span<const std::byte> bytes) noexcept {
    const std::uint32_t init = seed_for_length(bytes.size());
    HashState s{init, init, init};
    const std::byte* p = bytes.data();
    std::size_t len = bytes.size();
    while (len >= 12) {
        s.a += load_word(p);
        s.b += load_word(p + 4);
        s.c += load_word(p + 8);
        mix(s);
        p += 12;
        len -= 12;
    }
    // PostgreSQL runs the final round even for an empty tail (lookup3 itself would not).
    add_tail(s, p, len);
    final_mix(s);
    return s.c;
}

HashValue hash_bytes(std::string_view s) noexcept {
    return hash_bytes(std::as_bytes(std::span<const char>(s.data(), s.size())));
}

HashValue hash_uint32(std::uint32_t k) noexcept {
    const std::uint32_t init = seed_for_length(sizeof k);
    HashState s{init + k, init, init};
    final_mix(s);
    return s.c;
}

HashValue hash_uint32_words(std::span<const std::uint32_t> words) noexcept {
    return hash_bytes(std::as_bytes(words));
}

}  // namespace spock::core
