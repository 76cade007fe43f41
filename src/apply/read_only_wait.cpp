// See read_only_wait.hpp.
#include "read_only_wait.hpp"

#include "spock/core/read_only.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/read_only.hpp"
#include "spock/pg/waits.hpp"

extern "C" {
#include <utils/timestamp.h>
}

namespace spock::apply {
namespace {
constexpr long kKeepaliveMs = 5 * 1000L;
constexpr long kNapMs = 500L;
}  // namespace

bool wait_while_read_only(const std::function<void()>& keepalive) {
    if (!core::replication_waits(pg::read_only_mode())) {
        return true;
    }
    pg::pg_call([] {
        ereport(LOG, (errmsg("apply worker waits: spock.readonly is \"all\""),
                      errdetail("No remote transaction is applied until spock.readonly is "
                                "set to off or user; nothing is skipped.")));
    });
    TimestampTz last_keepalive = GetCurrentTimestamp();
    while (core::replication_waits(pg::read_only_mode())) {
        if (pg::interrupts_say_stop()) {
            return false;
        }
        TimestampTz now = GetCurrentTimestamp();
        if (TimestampDifferenceExceeds(last_keepalive, now, kKeepaliveMs)) {
            keepalive();
            last_keepalive = now;
        }
        pg::sleep_on_latch(kNapMs);
    }
    pg::pg_call([] { ereport(LOG, (errmsg("apply worker resumes: spock.readonly lowered"))); });
    return true;
}

}  // namespace spock::apply
