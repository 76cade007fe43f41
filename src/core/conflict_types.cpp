// Conflict type names, per-type counts and the log rate limit. See conflict_types.hpp.
#include "spock/core/conflict_types.hpp"

namespace spock::core {

const char* conflict_type_name(ConflictType t) noexcept {
    switch (t) {
        case ConflictType::InsertExists:
            return "insert_exists";
        case ConflictType::UpdateOriginDiffers:
            return "update_origin_differs";
        case ConflictType::UpdateExists:
            return "update_exists";
        case ConflictType::UpdateMissing:
            return "update_missing";
        case ConflictType::DeleteOriginDiffers:
            return "delete_origin_differs";
        case ConflictType::DeleteMissing:
            return "delete_missing";
        case ConflictType::MultipleUniqueConflicts:
            return "multiple_unique_conflicts";
    }
    return "unknown";
}

bool ConflictCounts::any() const noexcept {
    for (std::uint64_t c : n) {
        if (c != 0) {
            return true;
        }
    }
    return false;
}

void ConflictCounts::clear() noexcept {
    for (std::uint64_t& c : n) {
        c = 0;
    }
}

bool ConflictLogLimiter::admit(ConflictType type, std::int64_t now_us, Summary* ended,
                               bool* have_ended) noexcept {
    Window& w = windows_[conflict_index(type)];
    *have_ended = false;
    // A clock that went backwards ends the window too, rather than keeping it open for long.
    if (w.open && (now_us - w.start_us >= kWindowUs || now_us < w.start_us)) {
        if (w.suppressed > 0) {
            *ended = Summary{type, w.suppressed, w.start_us};
            *have_ended = true;
        }
        w.open = false;
    }
    if (!w.open) {
        w = Window{true, now_us, 0, 0};
    }
    if (w.logged < kLinesPerWindow) {
        w.logged++;
        return true;
    }
    w.suppressed++;
    return false;
}

bool ConflictLogLimiter::would_log(ConflictType type, std::int64_t now_us) const noexcept {
    const Window& w = windows_[conflict_index(type)];
    if (!w.open || now_us - w.start_us >= kWindowUs || now_us < w.start_us) {
        return true;
    }
    return w.logged < kLinesPerWindow;
}

int ConflictLogLimiter::expire(std::int64_t now_us, Summary* out) noexcept {
    int count = 0;
    for (int i = 0; i < kConflictTypeCount; i++) {
        Window& w = windows_[i];
        if (!w.open || (now_us - w.start_us < kWindowUs && now_us >= w.start_us)) {
            continue;
        }
        if (w.suppressed > 0) {
            out[count++] = Summary{static_cast<ConflictType>(i), w.suppressed, w.start_us};
        }
        w.open = false;
    }
    return count;
}

}  // namespace spock::core
