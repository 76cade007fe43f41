// Names of the replication origins a subscription applies under (docs/replication.md, "Crash
// safety and origin identity").
//
// The provider's own changes are applied under the origin named like the subscription's slot;
// changes it forwards from node N under "<slot>:n<N>". Slot names only hold [a-z0-9_], so the
// ':' makes the name unambiguous: no other subscription's slot can produce a name of this
// subscription (with "_n<N>", subscriptions "s" and "s_n5" could take each other's origins).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "spock/core/names.hpp"

namespace spock::core {

inline constexpr std::string_view kForwardedOriginSeparator = ":n";

// The origin for changes that `origin_node` made, applied through subscription slot `slot`
// whose provider is `provider` (origin_node 0 means the provider itself).
std::string origin_name(std::string_view slot, NodeId provider, NodeId origin_node);

// The node of a forwarded origin "<slot>:n<N>" of this slot, or nullopt when `name` is not
// one (the slot's own origin included).
std::optional<NodeId> forwarded_origin_node(std::string_view slot, std::string_view name);

// True for every origin that belongs to the subscription with this slot: its own and its
// forwarded ones. Streaming resumes from the newest of them.
bool is_subscription_origin(std::string_view slot, std::string_view name);

// Splits "<slot>:n<N>" without knowing the slot: the slot part and N, or nullopt.
std::optional<std::pair<std::string_view, NodeId>> split_forwarded_origin(std::string_view name);

}  // namespace spock::core
