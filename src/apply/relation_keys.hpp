// The key specs of a remote relation for parallel apply's dependency tracking, read from the
// local catalog (docs/architecture.md, "Parallel apply"; core/apply_keys.hpp says what they
// mean).
#pragma once

#include "spock/core/apply_keys.hpp"
#include "spock/core/protocol.hpp"

namespace spock::apply {

// Looks up the local table the RELATION message maps to (by name) and describes it: every
// unique index (the replica identity or primary key index as the Identity spec), every
// foreign key (space: the parent's referenced index, pg_constraint.conindid). Not keyable, so
// every change of it is a barrier: no local table, a unique expression index, an exclusion
// constraint, no unique index at all, spock's own queue table (its messages act in the
// leader). Runs in a transaction of its own; call between transactions.
core::RelationKeys relation_keys(const core::Relation& rel);

}  // namespace spock::apply
