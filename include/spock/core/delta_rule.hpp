// Delta-apply columns (docs/conflicts.md, "Delta-apply columns"): what a remote UPDATE does to a
// column labelled 'spock.delta_apply', decided on plain facts about the three values involved.
// The glue computes the result with the column type's own + and - operators. Nothing here
// allocates or throws.
#pragma once

#include <string_view>

namespace spock::core {

// The security label that marks a delta-apply column, as in Spock 5.
inline constexpr std::string_view kDeltaApplyLabel = "spock.delta_apply";

// Whether a label text is the one provider spock accepts (exact match, case-sensitive).
bool is_delta_apply_label(std::string_view label) noexcept;

// What the remote UPDATE carried for the column and what the local row holds.
struct DeltaInputs {
    bool old_known;   // the provider sent the column's old value (REPLICA IDENTITY FULL)
    bool old_null;    // that old value is NULL (only meaningful when old_known)
    bool new_null;    // the new remote value is NULL
    bool local_null;  // the local row's value is NULL
};

enum class DeltaAction {
    KeepLocal,   // the column did not change remotely (both NULL), or local NULL absorbs it
    AddDelta,    // local + (new_remote - old_remote)
    AddNew,      // local + new_remote: the remote went from NULL to a value (NULL counts as 0)
    TakeNew,     // the remote new value as it is
    SetNull,     // the remote set the column to NULL
    NoOldValue,  // no old value was sent: treated as a plain column, with a warning
};

// The rules, chosen so that an UPDATE that leaves the column alone never changes the local
// value and concurrent non-NULL changes converge on every node:
//   old unknown                        -> NoOldValue
//   old NULL,  new NULL                -> KeepLocal   (column untouched)
//   old NULL,  new v,  local NULL      -> TakeNew
//   old NULL,  new v,  local l         -> AddNew      (l + v)
//   old o,     new NULL                -> SetNull
//   old o,     new v,  local NULL      -> KeepLocal   (a concurrent NULL here stays NULL)
//   old o,     new v,  local l         -> AddDelta    (l + v - o)
DeltaAction decide_delta(const DeltaInputs& in) noexcept;

// Column types delta apply accepts, by PostgreSQL type name (int2, int4, int8, float4, float8,
// numeric, money).
bool is_delta_type_name(std::string_view type_name) noexcept;

// "smallint, integer, bigint, real, double precision, numeric and money", for hints.
const char* delta_type_list() noexcept;

}  // namespace spock::core
