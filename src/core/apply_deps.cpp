// Dependencies between remote transactions for parallel apply; see the header.
#include "spock/core/apply_deps.hpp"

#include <algorithm>
#include <bit>

namespace spock::core {

namespace {

// A 64-bit mix of each 8-byte step (the finaliser of splitmix64), good enough to spread keys
// over buckets; collisions only cost parallelism.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t absorb(std::uint64_t h, std::uint64_t v) noexcept {
    return mix(h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2)));
}

std::size_t round_up_pow2(std::size_t n) noexcept {
    return std::bit_ceil(std::max<std::size_t>(n, 1));
}

}  // namespace

std::uint64_t apply_key_hash(KeySpace space, std::span<const ColumnValue* const> values) noexcept {
    std::uint64_t h = absorb(0x5370636b41707031ULL, space);
    h = absorb(h, values.size());
    for (const ColumnValue* v : values) {
        h = absorb(h, static_cast<std::uint64_t>(static_cast<unsigned char>(v->kind)));
        h = absorb(h, v->bytes.size());
        const std::string& b = v->bytes;
        std::size_t i = 0;
        for (; i + 8 <= b.size(); i += 8) {
            std::uint64_t w = 0;
            for (std::size_t j = 0; j < 8; ++j)
                w |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i + j])) << (8 * j);
            h = absorb(h, w);
        }
        std::uint64_t tail = 0;
        for (std::size_t j = 0; i + j < b.size(); ++j)
            tail |= static_cast<std::uint64_t>(static_cast<unsigned char>(b[i + j])) << (8 * j);
        h = absorb(h, tail);
    }
    return h == 0 ? 1 : h;
}

void TxnKeys::add(KeySpace space, std::uint64_t hash) {
    if (barrier_)
        return;
    if (keys_.size() >= max_keys_) {
        set_barrier();
        overflowed_ = true;
        return;
    }
    keys_.push_back(ApplyKey{space, hash});
}

void TxnKeys::set_barrier() noexcept {
    barrier_ = true;
    keys_.clear();
}

void TxnKeys::clear() noexcept {
    keys_.clear();
    barrier_ = false;
    overflowed_ = false;
}

DependencyTracker::DependencyTracker(std::size_t key_buckets, std::size_t space_buckets)
    : key_last_(round_up_pow2(key_buckets), 0),
      space_last_(round_up_pow2(space_buckets), 0),
      space_all_(round_up_pow2(space_buckets), 0) {}

std::size_t DependencyTracker::key_bucket(KeySpace space, std::uint64_t hash) const noexcept {
    return static_cast<std::size_t>(mix(hash ^ (static_cast<std::uint64_t>(space) << 32))) &
           (key_last_.size() - 1);
}

std::size_t DependencyTracker::space_bucket(KeySpace space) const noexcept {
    return static_cast<std::size_t>(mix(space)) & (space_last_.size() - 1);
}

Admission DependencyTracker::admit(const TxnKeys& keys) noexcept {
    const ApplySeq seq = next_++;
    ApplySeq dep = barrier_;
    if (keys.barrier()) {
        // Waits for everything before it; everything after waits for it through barrier_.
        dep = seq - 1;
        barrier_ = seq;
    } else {
        // First every dependency, then the records: a transaction with two keys in one bucket
        // must not find itself.
        for (const ApplyKey& k : keys.keys()) {
            const std::size_t sb = space_bucket(k.space);
            dep = std::max(dep, space_all_[sb]);
            if (k.hash == 0)
                dep = std::max(dep, space_last_[sb]);
            else
                dep = std::max(dep, key_last_[key_bucket(k.space, k.hash)]);
        }
        for (const ApplyKey& k : keys.keys()) {
            const std::size_t sb = space_bucket(k.space);
            space_last_[sb] = seq;
            if (k.hash == 0)
                space_all_[sb] = seq;
            else
                key_last_[key_bucket(k.space, k.hash)] = seq;
        }
    }
    return Admission{seq, dep > committed_ ? dep : 0};
}

void DependencyTracker::committed(ApplySeq seq) noexcept {
    if (seq > committed_ && seq < next_)
        committed_ = seq;
}

void DependencyTracker::reset() noexcept {
    // Numbers go on from where they were, so nothing recorded can look newer than a commit.
    committed_ = next_ - 1;
    barrier_ = 0;
}

std::size_t DependencyTracker::memory_bytes() const noexcept {
    return sizeof(*this) +
           (key_last_.size() + space_last_.size() + space_all_.size()) * sizeof(ApplySeq);
}

}  // namespace spock::core
