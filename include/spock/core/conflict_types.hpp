// The kinds of conflict the apply worker detects, named as PostgreSQL 18 names them
// (docs/conflicts.md), the per-type counts a worker gathers between commits, and the rate limit
// on conflict log lines. Pure C++ on plain values: nothing here allocates or throws, so it is
// safe on the per-row hot path.
#pragma once

#include <cstdint>

#include "spock/core/log_window.hpp"

namespace spock::core {

// The order is that of the confl_* columns of spock.sub_conflict_stats (and of PostgreSQL 18's
// pg_stat_subscription_stats); the shared-memory counters are indexed by it.
enum class ConflictType : std::uint8_t {
    InsertExists,             // an INSERT finds a row with its key
    UpdateOriginDiffers,      // an UPDATE finds its row last changed by another origin
    UpdateExists,             // an UPDATE's new key is taken by another row
    UpdateMissing,            // an UPDATE finds no row
    DeleteOriginDiffers,      // a DELETE finds its row last changed by another origin
    DeleteMissing,            // a DELETE finds no row
    MultipleUniqueConflicts,  // an INSERT meets different rows in several unique indexes
    // Update versus delete (docs/conflicts.md), decided with the record of deleted keys:
    UpdateDeleted,  // an UPDATE finds no row, deleted after the update was committed
    DeleteExists,   // a DELETE finds its row changed after the delete was committed
    InsertDeleted,  // an INSERT finds no row, its key deleted after the insert was committed
};
inline constexpr int kConflictTypeCount = 10;

inline constexpr int conflict_index(ConflictType t) noexcept {
    return static_cast<int>(t);
}

// "insert_exists", "update_origin_differs", ...: spock.resolutions.conflict_type and the log.
const char* conflict_type_name(ConflictType t) noexcept;

// Conflicts seen by one process since they were last handed to shared memory.
struct ConflictCounts {
    std::uint64_t n[kConflictTypeCount] = {};

    void add(ConflictType t) noexcept { n[conflict_index(t)]++; }
    bool any() const noexcept;
    void clear() noexcept;
};

// At most kLinesPerWindow detailed log lines per conflict type in a window of kWindowUs that
// starts with the type's first conflict after the previous window ended. Conflicts beyond that
// are only counted, and the count is reported once the window is over: by the next conflict
// of the type (admit) or by expire(), which the worker calls at each commit.
class ConflictLogLimiter {
  public:
    static constexpr std::uint32_t kLinesPerWindow = 10;
    static constexpr std::int64_t kWindowUs = 10'000'000;  // 10 s

    ConflictLogLimiter() noexcept {
        for (LogWindow& w : windows_) {
            w = LogWindow(kLinesPerWindow, kWindowUs);
        }
    }

    // A window that ended with conflicts not logged individually.
    struct Summary {
        ConflictType type;
        std::uint64_t suppressed;
        std::int64_t window_start_us;
    };

    // A conflict of `type` at `now_us`: true when it is to be logged in detail. When this
    // ends a window that suppressed lines, *ended is set to it and true is returned in
    // *have_ended (the caller logs the summary first).
    bool admit(ConflictType type, std::int64_t now_us, Summary* ended, bool* have_ended) noexcept;

    // Whether admit() would log a conflict of `type` at `now_us` in detail (changes nothing).
    bool would_log(ConflictType type, std::int64_t now_us) const noexcept;

    // Ends the windows that are over at `now_us`; fills `out` (room for kConflictTypeCount)
    // with those that suppressed lines and returns how many.
    int expire(std::int64_t now_us, Summary* out) noexcept;

  private:
    LogWindow windows_[kConflictTypeCount];
};

}  // namespace spock::core
