// Names of the replication origins a subscription applies under (docs/replication.md, "Crash
// safety and origin identity").
//
// The provider's own changes are applied under the origin named like the subscription's slot;
// changes it forwards from node N under "<slot>:n<N>". Slot names only hold [a-z0-9_], so the
// ':' makes the name unambiguous: no other subscription's slot can produce a name of this
// subscription (with "_n<N>", subscriptions "s" and "s_n5" could take each other's origins).
//
// Parallel apply (docs/architecture.md, "Parallel apply"): PostgreSQL 15 lets only one process
// at a time have an origin as its session origin, so apply process K (1, 2, ...) of a
// subscription applies under "<origin>:w<K>", where <origin> is one of the names above. Such a
// name stands for the same node as <origin> (conflict resolution reads a row's writer from its
// commit origin) and belongs to the same subscription (streaming resumes from the newest of
// them, which is exact because the processes commit in the provider's commit order). Without
// the suffix, or with K = 0, it is the serial apply's name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "spock/core/names.hpp"

namespace spock::core {

inline constexpr std::string_view kForwardedOriginSeparator = ":n";
inline constexpr std::string_view kWorkerOriginSeparator = ":w";

// The origin for changes that `origin_node` made, applied through subscription slot `slot`
// whose provider is `provider` (origin_node 0 means the provider itself).
std::string origin_name(std::string_view slot, NodeId provider, NodeId origin_node);

// The origin apply process `worker` uses for changes that would go under `origin`:
// "<origin>:w<worker>", or `origin` itself for worker 0 (serial apply).
std::string worker_origin_name(std::string_view origin, std::uint32_t worker);

// The apply process of a name: K for "...:w<K>" (1 to 4294967295, decimal without leading
// zero), 0 for a name without that suffix.
std::uint32_t origin_worker(std::string_view name);

// The name without its ":w<K>" suffix: the serial apply's name of the same origin.
std::string_view without_worker_suffix(std::string_view name);

// The node of a forwarded origin "<slot>:n<N>" (or "<slot>:n<N>:w<K>") of this slot, or nullopt
// when `name` is not one (the slot's own origin included).
std::optional<NodeId> forwarded_origin_node(std::string_view slot, std::string_view name);

// True for every origin that belongs to the subscription with this slot: its own and its
// forwarded ones, and those of its parallel apply processes. Streaming resumes from the newest of
// them.
bool is_subscription_origin(std::string_view slot, std::string_view name);

// Splits "<slot>:n<N>" (or "<slot>:n<N>:w<K>") without knowing the slot: the slot part and N, or
// nullopt.
std::optional<std::pair<std::string_view, NodeId>> split_forwarded_origin(std::string_view name);

}  // namespace spock::core
