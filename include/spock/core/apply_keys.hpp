// The keys a remote change touches, for the dependency tracker of parallel apply
// (apply_deps.hpp; docs/architecture.md, "Parallel apply").
//
// The glue describes each remote relation once (RelationKeys): which of its columns form the
// replica identity, and its key specs: the identity key the apply uses to find rows, every
// other unique key, and every foreign key to a parent (whose space is the parent's referenced
// unique index, so that the child's reference and the parent's own key meet). Column numbers
// are positions in the remote relation's columns, in the order of the space's key columns.
//
// What a change adds:
//  * INSERT: the new row's value of every spec.
//  * UPDATE: the new row's value of every spec, and the old row's value of every spec. The old
//    value is known when the old tuple is present and either carries every column (REPLICA
//    IDENTITY FULL) or the spec's columns are all identity columns; when the old tuple is absent
//    (the identity did not change) a spec made of identity columns has the new value. Otherwise
//    the old value is unknown and the whole space is added.
//  * DELETE: the old row's value of every spec, the whole space where it is unknown.
//  * A value with a NULL column adds nothing (NULLs never collide in a unique index and a NULL
//    reference has no parent); a value with an unchanged toasted column is unknown: the whole
//    space.
//  * INSERT into a relation with no key at all (RelationKeys::inserts_commute: a plain table
//    without any unique index, exclusion constraint or foreign key, pgbench_history say):
//    nothing. Two such inserts commute, whatever their rows, so they need no order between
//    them. An UPDATE or DELETE of such a relation (REPLICA IDENTITY FULL) stays a barrier, so
//    it waits for every insert before it and every insert after it waits for it.
//  * TRUNCATE, a logical message (queued DDL, sequences, ...), any other change to a relation
//    the glue has no keys for or marks un-keyable: the transaction becomes a barrier.
//  * BEGIN, COMMIT, ORIGIN, RELATION and the others add nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "spock/core/apply_deps.hpp"
#include "spock/core/protocol.hpp"

namespace spock::core {

enum class KeySpecKind : std::uint8_t {
    Identity,   // the key the apply finds rows by
    Unique,     // another unique key
    Reference,  // a foreign key to a parent's unique key
};

struct KeySpec {
    KeySpecKind kind = KeySpecKind::Unique;
    KeySpace space = 0;
    // Remote column positions. Empty: every change adds the whole space (the glue uses that
    // for a foreign key whose column types differ from the parent's, as the values may be sent
    // in another form than the parent's).
    std::vector<std::uint16_t> columns;
};

struct RelationKeys {
    bool keyable = false;         // false: every change of the relation is a barrier
    bool old_tuple_full = false;  // the old tuple carries every column (REPLICA IDENTITY FULL)
    // No key of any kind (no unique index, exclusion constraint, foreign key; a plain table):
    // an INSERT adds no key and is no barrier.
    bool inserts_commute = false;
    std::vector<bool> identity;  // per remote column: flagged as replica identity
    std::vector<KeySpec> specs;
};

// The identity flags of a RELATION message, for RelationKeys::identity.
std::vector<bool> identity_columns(const Relation& rel);

// Adds the keys of one message to keys. rel describes the relation the change belongs to (null
// when the glue has none, or for messages without a relation).
void add_message_keys(const ProtocolMessage& msg, const RelationKeys* rel, TxnKeys& keys);

}  // namespace spock::core
