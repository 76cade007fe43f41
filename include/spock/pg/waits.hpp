// Waiting in a backend or worker without blocking cancellation.
#pragma once

namespace spock::pg {

// Sleeps on the process latch for up to `ms`, then handles interrupts: a query cancel or a
// termination request arrives as a C++ exception (through pg_call), so callers may own objects.
void sleep_on_latch(long ms);

}  // namespace spock::pg
