// A SEQUENCE message ('S') from a provider, applied (docs/sequences.md): the local sequence
// moves forward to at least the shipped value, never backwards, keeping its residue modulo
// its increment (core::sequence_forward_target); the value becomes the sequence's high-water
// mark in spock.sequence_state when it is in a local set, so the manager's periodic sync does
// not ship it back, unless this node had handed out values it has not shipped yet
// (core::sequence_mark_after_receipt).
#pragma once

#include <string>

#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Inside the apply transaction with SPI connected. `seqoid` is the local sequence.
// `remote_value` is the message's last_value text; a value that is not a bigint gets a
// WARNING and is ignored. Holds a SHARE lock on the sequence to the end of the transaction so
// that no nextval() runs between reading and setting it.
void apply_sequence_value(Oid seqoid, const std::string& remote_value);

}  // namespace spock::apply
