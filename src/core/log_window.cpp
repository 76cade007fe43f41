// Log line budget. See include/spock/core/log_window.hpp.
#include "spock/core/log_window.hpp"

namespace spock::core {

bool LogWindow::admit(std::int64_t now_us, std::uint64_t* suppressed,
                      std::int64_t* ended_start) noexcept {
    if (!open_ || ended(now_us)) {
        *suppressed = open_ ? suppressed_ : 0;
        if (ended_start != nullptr) {
            *ended_start = start_;
        }
        open_ = true;
        start_ = now_us;
        used_ = 0;
        suppressed_ = 0;
    }
    if (used_ < burst_) {
        used_++;
        return true;
    }
    suppressed_++;
    return false;
}

bool LogWindow::would_admit(std::int64_t now_us) const noexcept {
    return !open_ || ended(now_us) || used_ < burst_;
}

std::uint64_t LogWindow::take_ended(std::int64_t now_us, std::int64_t* started) noexcept {
    if (!open_ || !ended(now_us)) {
        return 0;
    }
    std::uint64_t n = suppressed_;
    if (started != nullptr) {
        *started = start_;
    }
    open_ = false;
    suppressed_ = 0;
    return n;
}

}  // namespace spock::core
