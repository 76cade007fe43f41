#include "spock/core/partition_membership.hpp"

namespace spock::core {

MembershipChoice choose_membership(bool own_row, bool excluded, const bool* ancestor_has_row,
                                   std::size_t nancestors) noexcept {
    if (own_row) {
        return {MemberSource::Own, 0};
    }
    if (excluded) {
        return {MemberSource::None, 0};
    }
    for (std::size_t i = 0; i < nancestors; i++) {
        if (ancestor_has_row[i]) {
            return {MemberSource::Ancestor, i};
        }
    }
    return {MemberSource::None, 0};
}

}  // namespace spock::core
