// Waiting in a backend or worker without blocking cancellation.
#pragma once

namespace spock::pg {

// Sleeps on the process latch for up to `ms`, then handles interrupts: a query cancel or a
// termination request arrives as a C++ exception (through pg_call), so callers may own objects.
void sleep_on_latch(long ms);

// The top of a background worker's loop: handles interrupts, re-reads the configuration after
// SIGHUP, and says whether SIGTERM asked the worker to stop.
bool interrupts_say_stop();

}  // namespace spock::pg
