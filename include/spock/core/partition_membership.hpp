// Replication-set membership of a partition (docs/replication.md, "Partitions"). Logical
// decoding reports every change against the leaf partition, so the output plugin must decide
// whether a leaf belongs to a set. The rule, per set:
//   * a row of its own in replication_set_table (repset_add_partition) makes it a member with
//     that row's column list and filter;
//   * otherwise, unless repset_remove_partition excluded it from that set, it is a member when
//     one of its ancestors is, with the nearest such ancestor's column list and filter.
// So a partition created or attached later is covered at once, and a detached one, which has
// no ancestors any more, stops being covered at once. Nothing here allocates or throws.
#pragma once

#include <cstddef>

namespace spock::core {

enum class MemberSource {
    None,      // not a member of the set
    Own,       // its own row
    Ancestor,  // the row of ancestor number `ancestor` (0 = the direct parent)
};

struct MembershipChoice {
    MemberSource source;
    std::size_t ancestor;  // meaningful only for MemberSource::Ancestor
};

// `ancestor_has_row[i]` tells whether ancestor i (0 = direct parent, then upwards to the root)
// has a row in the set; `nancestors` is 0 for a table that is not a partition.
MembershipChoice choose_membership(bool own_row, bool excluded, const bool* ancestor_has_row,
                                   std::size_t nancestors) noexcept;

}  // namespace spock::core
