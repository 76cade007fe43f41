// The "spock" security label provider and the delta-apply columns it marks
// (docs/conflicts.md, "Delta-apply columns").
//
//   SECURITY LABEL FOR spock ON COLUMN t.c IS 'spock.delta_apply';
//
// is accepted only on a column of type int2, int4, int8, float4, float8, numeric or money of an
// ordinary or partitioned table with REPLICA IDENTITY FULL; anything else is an ERROR with
// SQLSTATE, detail and hint. (A primary key is not checked here: pg_restore creates it after
// the labels.) Plain PostgreSQL glue: may raise ERROR.
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/relcache.h>
}

namespace spock::pg {

// Whether a column of this type can be a delta-apply column: one of the built-in types
// core::is_delta_type_name() lists (a domain or array over them is not).
bool is_delta_column_type(Oid typid);

// Registers the provider; called from _PG_init (the provider exists only when spock is in
// shared_preload_libraries).
void register_spock_label_provider();

// Marks in `delta` (one flag per attribute of rel, 0-based, allocated by the caller) the
// columns labelled 'spock.delta_apply', on the relation itself or, for a partition, on a
// partitioned ancestor (matched by column name). Reads pg_seclabel with the current catalog
// snapshot, which in logical decoding is the historic one. Returns whether any is marked.
bool read_delta_columns(Relation rel, bool* delta);

}  // namespace spock::pg
