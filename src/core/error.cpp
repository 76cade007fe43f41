#include "spock/core/error.hpp"

#include <utility>

namespace spock::core {

bool is_valid_sqlstate(std::string_view s) noexcept {
    if (s.size() != 5) {
        return false;
    }
    for (char c : s) {
        bool digit = c >= '0' && c <= '9';
        bool upper = c >= 'A' && c <= 'Z';
        if (!digit && !upper) {
            return false;
        }
    }
    return true;
}

Error::Error(std::string_view sqlstate, std::string message, std::string detail, std::string hint)
    : sqlstate_(is_valid_sqlstate(sqlstate) ? std::string(sqlstate)
                                            : std::string(sqlstate::kInternalError)),
      message_(std::move(message)),
      detail_(std::move(detail)),
      hint_(std::move(hint)) {}

}  // namespace spock::core
