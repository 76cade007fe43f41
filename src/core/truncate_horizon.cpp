#include "spock/core/truncate_horizon.hpp"

namespace spock::core {

TruncateOrder order_against_truncate(const TruncateHorizon& h, bool change_time_known,
                                     TimestampUs change_time) noexcept {
    if (!change_time_known) {
        return TruncateOrder::Before;
    }
    if (change_time < h.truncated_at) {
        return TruncateOrder::Before;
    }
    if (change_time > h.truncated_at) {
        return TruncateOrder::After;
    }
    return TruncateOrder::NeedTiebreak;
}

TruncateOrder truncate_tiebreak(std::int64_t truncate_tiebreaker,
                                std::int64_t change_tiebreaker) noexcept {
    return truncate_tiebreaker < change_tiebreaker ? TruncateOrder::Before : TruncateOrder::After;
}

bool horizon_advances(bool have_current, const TruncateHorizon& current,
                      const TruncateHorizon& incoming) noexcept {
    return !have_current || incoming.truncated_at > current.truncated_at;
}

}  // namespace spock::core
