#include "spock/core/delta_rule.hpp"

#include <array>

namespace spock::core {

bool is_delta_apply_label(std::string_view label) noexcept {
    return label == kDeltaApplyLabel;
}

DeltaAction decide_delta(const DeltaInputs& in) noexcept {
    if (!in.old_known) {
        return DeltaAction::NoOldValue;
    }
    if (in.old_null) {
        if (in.new_null) {
            return DeltaAction::KeepLocal;
        }
        return in.local_null ? DeltaAction::TakeNew : DeltaAction::AddNew;
    }
    if (in.new_null) {
        return DeltaAction::SetNull;
    }
    return in.local_null ? DeltaAction::KeepLocal : DeltaAction::AddDelta;
}

bool is_delta_type_name(std::string_view type_name) noexcept {
    static constexpr std::array<std::string_view, 7> kTypes = {
        "int2", "int4", "int8", "float4", "float8", "numeric", "money"};
    for (std::string_view t : kTypes) {
        if (t == type_name) {
            return true;
        }
    }
    return false;
}

const char* delta_type_list() noexcept {
    return "smallint, integer, bigint, real, double precision, numeric and money";
}

}  // namespace spock::core
