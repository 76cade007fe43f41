// Log line budget. See include/spock/core/log_window.hpp.
#include "spock/core/log_window.hpp"

namespace spock::core {

bool LogWindow::admit(std::int64_t now_us, std::uint64_t* suppressed) noexcept {
    if (!open_ || now_us - start_ >= window_us_ || now_us < start_) {
        *suppressed = suppressed_;
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

std::uint64_t LogWindow::take_ended(std::int64_t now_us) noexcept {
    if (!open_ || suppressed_ == 0 || (now_us - start_ < window_us_ && now_us >= start_)) {
        return 0;
    }
    std::uint64_t n = suppressed_;
    open_ = false;
    suppressed_ = 0;
    return n;
}

}  // namespace spock::core
