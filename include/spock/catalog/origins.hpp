// Replication origins of subscriptions, and what they stand for (docs/architecture.md, "Crash
// safety and origin identity").
//
// Every applied commit advances a registered origin that belongs to its subscription, so a
// restart resumes exactly after the last applied transaction. Transactions the provider made
// itself are committed under the origin named like the slot; transactions it forwards from
// another node N are committed under "<slot>:n<N>" (include/spock/core/origin_names.hpp), so that
// the node a row came from can be recovered from its commit timestamp record's origin.
#pragma once

#include <string>

#include "spock/core/lsn.hpp"
#include "spock/core/names.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/xlogdefs.h>
}

extern "C" {
#include <replication/origin.h>
}

namespace spock::catalog {

// The origin name for changes that `origin_node` made, applied through subscription slot
// `slot_name` whose provider is `provider_node`.
std::string origin_name_for(const std::string& slot_name, core::NodeId provider_node,
                            core::NodeId origin_node);

// The spock node a local origin id stands for: the provider of the subscription whose slot
// names it, or the node encoded in a forwarded origin's name. InvalidOid for origin 0 (a local
// change) and for origins that are not spock's. Reads spock.subscription through SPI on a
// cache miss: call inside a transaction. The cache is dropped whenever pg_replication_origin
// changes, which is what creating or dropping a subscription (or a forwarded origin) does.
// Plain glue: raises ERROR on failure.
Oid node_for_origin(RepOriginId roident);

// The origin id for `name`, created in a transaction of its own when missing. Call outside a
// transaction; PostgreSQL errors arrive as C++ exceptions.
RepOriginId ensure_origin(const std::string& name);

// Where streaming resumes for the subscription with slot `slot_name`: the newest remote_lsn
// among its own origin and its forwarded ones (each applied commit advances exactly one, and
// commits arrive in provider order). Origins of other subscriptions never match. Opens a
// transaction of its own.
core::Lsn resume_position(const std::string& slot_name);

}  // namespace spock::catalog
