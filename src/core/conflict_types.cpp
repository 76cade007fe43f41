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
        case ConflictType::UpdateDeleted:
            return "update_deleted";
        case ConflictType::DeleteExists:
            return "delete_exists";
        case ConflictType::InsertDeleted:
            return "insert_deleted";
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
    std::uint64_t suppressed = 0;
    std::int64_t started = 0;
    bool log = windows_[conflict_index(type)].admit(now_us, &suppressed, &started);
    *have_ended = suppressed > 0;
    if (*have_ended) {
        *ended = Summary{type, suppressed, started};
    }
    return log;
}

bool ConflictLogLimiter::would_log(ConflictType type, std::int64_t now_us) const noexcept {
    return windows_[conflict_index(type)].would_admit(now_us);
}

int ConflictLogLimiter::expire(std::int64_t now_us, Summary* out) noexcept {
    int count = 0;
    for (int i = 0; i < kConflictTypeCount; i++) {
        std::int64_t started = 0;
        std::uint64_t suppressed = windows_[i].take_ended(now_us, &started);
        if (suppressed > 0) {
            out[count++] = Summary{static_cast<ConflictType>(i), suppressed, started};
        }
    }
    return count;
}

}  // namespace spock::core
