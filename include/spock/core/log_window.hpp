// A budget for repeated log lines: at most `burst` lines per window of `window_us`; the lines
// beyond it are counted, and the next admitted call learns how many were left out, so the log
// can say so instead of flooding.
#pragma once

#include <cstdint>

namespace spock::core {

class LogWindow {
  public:
    LogWindow() noexcept = default;
    LogWindow(int burst, std::int64_t window_us) noexcept : burst_(burst), window_us_(window_us) {}

    // Whether a line may be written at `now_us`. When a new window starts, *suppressed is set
    // to how many lines the previous window left out (0 when none) and, with ended_start, when
    // that window had started; otherwise they are untouched. A window starts with the first
    // line after the previous one ended; a clock that went backwards ends it too.
    bool admit(std::int64_t now_us, std::uint64_t* suppressed,
               std::int64_t* ended_start = nullptr) noexcept;

    // Whether admit() would let a line through at `now_us` (changes nothing).
    bool would_admit(std::int64_t now_us) const noexcept;

    // When the window has ended with lines left out: returns how many (and, with started, when
    // it had started) and closes the window, so that a quiet caller can still say so. 0
    // otherwise (a window that ended without leaving anything out is closed as well).
    std::uint64_t take_ended(std::int64_t now_us, std::int64_t* started = nullptr) noexcept;

    // Lines left out in the current window so far.
    std::uint64_t pending_suppressed() const noexcept { return suppressed_; }

  private:
    bool ended(std::int64_t now_us) const noexcept {
        return now_us - start_ >= window_us_ || now_us < start_;
    }

    int burst_ = 0;
    std::int64_t window_us_ = 0;
    std::int64_t start_ = 0;
    bool open_ = false;
    int used_ = 0;
    std::uint64_t suppressed_ = 0;
};

}  // namespace spock::core
