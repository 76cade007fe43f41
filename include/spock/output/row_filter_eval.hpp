// Row filter evaluation in the walsender (reference §5.4 item 6, §10.4).
#pragma once

#include "spock/pg/postgres.hpp"

extern "C" {
#include <access/htup.h>
#include <nodes/pg_list.h>
#include <utils/relcache.h>
}

namespace spock::output {

// True when every filter (a List of boolean expression trees over rel's columns) is true for
// the tuple; NULL counts as false. `old_tuple` is the old row of an UPDATE when WAL carries
// one, else nullptr. Plain glue: may raise ERROR (a filter's function can).
//
// The new row of an UPDATE holds toast pointers for the toasted values the UPDATE did not
// change. A filter that reads such a column gets the value from the old row when WAL has it
// (REPLICA IDENTITY FULL), else from the toast table. By the time a lagging slot decodes the
// UPDATE, VACUUM may have removed those chunks (a later UPDATE or DELETE of the row made them
// dead), or a rewrite of the table its files; then the filter sees NULL and a WARNING says so,
// where reading the pointer blindly would fail the same way on every retry and stop the slot.
bool row_filters_pass(Relation rel, List* filters, HeapTuple tuple, HeapTuple old_tuple);

}  // namespace spock::output
