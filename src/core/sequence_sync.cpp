// See include/spock/core/sequence_sync.hpp.
#include "spock/core/sequence_sync.hpp"

namespace spock::core {
namespace {

using Wide = __int128;

// Everything is computed on an ascending view of the sequence: a descending one is mirrored
// (v -> -v), which turns its bounds around. 128-bit arithmetic keeps every step exact.
struct Ascending {
    Wide step;
    Wide lo;
    Wide hi;
    bool mirrored;
    Wide in(std::int64_t v) const { return mirrored ? -Wide(v) : Wide(v); }
    std::int64_t out(Wide v) const { return static_cast<std::int64_t>(mirrored ? -v : v); }
};

Ascending ascending(const SequenceShape& s) {
    if (s.increment < 0) {
        return {-Wide(s.increment), -Wide(s.max_value), -Wide(s.min_value), true};
    }
    return {Wide(s.increment == 0 ? 1 : s.increment), s.min_value, s.max_value, false};
}

Wide clamp(Wide v, const Ascending& a) {
    return v < a.lo ? a.lo : (v > a.hi ? a.hi : v);
}

Wide floor_mod(Wide a, Wide m) {
    Wide r = a % m;
    return r < 0 ? r + m : r;
}

}  // namespace

std::int64_t shipped_sequence_value(std::int64_t last_value, std::int64_t margin,
                                    const SequenceShape& shape) noexcept {
    Ascending a = ascending(shape);
    Wide steps = margin < 0 ? 0 : margin;
    return a.out(clamp(a.in(last_value) + steps * a.step, a));
}

bool periodic_sync_due(std::int64_t last_value, std::optional<std::int64_t> high_water,
                       const SequenceShape& shape) noexcept {
    if (!high_water) {
        return true;
    }
    Ascending a = ascending(shape);
    return a.in(last_value) > a.in(*high_water);
}

std::optional<std::int64_t> sequence_forward_target(std::int64_t local_last, bool local_is_called,
                                                    std::int64_t remote,
                                                    const SequenceShape& shape) noexcept {
    Ascending a = ascending(shape);
    Wide last = a.in(local_last);
    Wide want = a.in(remote);
    // The value the local sequence hands out next.
    Wide next = local_is_called ? last + a.step : last;
    if (next > want) {
        return std::nullopt;
    }
    // First value >= want with last's residue; after setval(target, true) the next value
    // handed out is target + step, strictly beyond the remote one.
    Wide target = want + floor_mod(last - want, a.step);
    target = clamp(target, a);
    if (target < last || (target == last && local_is_called)) {
        return std::nullopt;
    }
    return a.out(target);
}

std::int64_t sequence_high_water(std::optional<std::int64_t> old_mark, std::int64_t value,
                                 const SequenceShape& shape) noexcept {
    if (!old_mark) {
        return value;
    }
    Ascending a = ascending(shape);
    return a.in(value) > a.in(*old_mark) ? value : *old_mark;
}

std::optional<std::int64_t> sequence_mark_after_receipt(std::int64_t local_last,
                                                        std::optional<std::int64_t> old_mark,
                                                        std::int64_t applied,
                                                        const SequenceShape& shape) noexcept {
    if (old_mark && periodic_sync_due(local_last, old_mark, shape)) {
        return old_mark;
    }
    return sequence_high_water(old_mark, applied, shape);
}

}  // namespace spock::core
