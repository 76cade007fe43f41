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
// the tuple; NULL counts as false. Plain glue: may raise ERROR (a filter's function can).
bool row_filters_pass(Relation rel, List* filters, HeapTuple tuple);

}  // namespace spock::output
