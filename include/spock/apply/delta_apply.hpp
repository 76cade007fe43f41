// Delta-apply columns on the apply side: what other parts may see of them.
#pragma once

#include <cstdint>

#include "spock/pg/postgres.hpp"

namespace spock::apply {

// Integration point for statistics: called (when set) once for every remote UPDATE that
// changed at least one delta-apply column by its difference, with the local table, how many
// columns it computed that way, and whether the rest of the row kept the local version
// (the update lost its conflict, yet its delta still counted). Runs inside the apply
// transaction, as plain glue: it may raise ERROR (which fails the change like any apply
// error) but must not throw a C++ exception. The apply worker sets it to count n_dca in the
// channel statistics (src/apply/apply_worker.cpp).
using DeltaApplyObserver = void (*)(Oid local_relid, int ncolumns, bool local_won);
void set_delta_apply_observer(DeltaApplyObserver observer);

// Remote UPDATEs this process applied with at least one delta (monotonic, for tests and logs).
std::uint64_t delta_applies_in_process();

}  // namespace spock::apply
