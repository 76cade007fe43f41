#include "spock/pg/waits.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <miscadmin.h>
#include <pgstat.h>
#include <postmaster/interrupt.h>
#include <storage/latch.h>
#include <utils/guc.h>
}

namespace spock::pg {

void sleep_on_latch(long ms) {
    pg_call([ms] {
        WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, ms, PG_WAIT_EXTENSION);
        ResetLatch(MyLatch);
        CHECK_FOR_INTERRUPTS();
    });
}

bool interrupts_say_stop() {
    pg_call([] {
        CHECK_FOR_INTERRUPTS();
        if (ConfigReloadPending) {
            ConfigReloadPending = false;
            ProcessConfigFile(PGC_SIGHUP);
        }
    });
    return ShutdownRequestPending;
}

}  // namespace spock::pg
