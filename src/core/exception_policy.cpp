// Exception handling decisions. See include/spock/core/exception_policy.hpp.
#include "spock/core/exception_policy.hpp"

namespace spock::core {

bool is_replayable_error(std::string_view sqlstate) noexcept {
    if (sqlstate.size() != 5) {
        return true;
    }
    std::string_view cls = sqlstate.substr(0, 2);
    return !(cls == "08" || cls == "57" || cls == "53" || cls == "54" || cls == "58");
}

ReplayOutcome replay_outcome(ExceptionBehaviour b, bool any_failed) noexcept {
    if (!any_failed) {
        return ReplayOutcome::Applied;
    }
    switch (b) {
        case ExceptionBehaviour::Discard:
            return ReplayOutcome::PartlyApplied;
        case ExceptionBehaviour::TransDiscard:
            return ReplayOutcome::Discarded;
        case ExceptionBehaviour::SubDisable:
            return ReplayOutcome::Disable;
    }
    return ReplayOutcome::Discarded;
}

std::string_view behaviour_name(ExceptionBehaviour b) noexcept {
    switch (b) {
        case ExceptionBehaviour::Discard:
            return "discard";
        case ExceptionBehaviour::TransDiscard:
            return "transdiscard";
        case ExceptionBehaviour::SubDisable:
            return "sub_disable";
    }
    return "transdiscard";
}

std::string collateral_message(ExceptionBehaviour b, long long failed_counter,
                               std::string_view failed_error) {
    std::string m(behaviour_name(b));
    m += ": change discarded because change ";
    m += std::to_string(failed_counter);
    m += " of the transaction failed: ";
    m += failed_error;
    return m;
}

std::string error_text(std::string_view sqlstate, std::string_view message,
                       std::string_view detail) {
    std::string m = "[";
    m += sqlstate;
    m += "] ";
    m += message;
    if (!detail.empty()) {
        m += " DETAIL: ";
        m += detail;
    }
    return m;
}

}  // namespace spock::core
