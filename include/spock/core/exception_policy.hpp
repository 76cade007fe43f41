// What the apply worker does with a remote transaction that failed (docs/exceptions.md):
// pure decisions behind spock.exception_behaviour and spock.exception_logging.
#pragma once

#include <string>
#include <string_view>

namespace spock::core {

enum class ExceptionBehaviour { Discard, TransDiscard, SubDisable };
enum class ExceptionLogging { None, Discard, All };

// An error while applying a change is handled by replaying the transaction, unless it says
// that the worker itself cannot go on: a lost connection (class 08), an operator's request
// (57: cancel, shutdown), resources (53: out of memory, disk full; 54: limits) or a system
// error (58: I/O). Those end the worker, which starts again and streams from the last commit.
bool is_replayable_error(std::string_view sqlstate) noexcept;

// How a replayed transaction ends.
enum class ReplayOutcome {
    Applied,        // nothing failed on replay: the transaction is applied as sent
    PartlyApplied,  // discard: the changes that failed were skipped, the rest applied
    Discarded,      // transdiscard: nothing applied, the failures logged
    Disable,        // sub_disable: nothing applied, origin not advanced, subscription disabled
};
ReplayOutcome replay_outcome(ExceptionBehaviour b, bool any_failed) noexcept;

// During replay each change runs in its own subtransaction, released when it succeeds and
// rolled back when it fails. Under transdiscard and sub_disable an outer subtransaction holds
// them all and is rolled back when any failed. A change is kept when it succeeded and the
// outcome keeps anything.
constexpr bool change_kept(ReplayOutcome o, bool failed) noexcept {
    return !failed && (o == ReplayOutcome::Applied || o == ReplayOutcome::PartlyApplied);
}

// Whether a change gets a row in spock.exception_log. Nothing is logged for a transaction
// that applied in full on replay (the error did not recur). Otherwise: never with logging
// none; a failed change always; a change discarded only because another one failed likewise
// (transdiscard, sub_disable); an applied change (discard) only with logging all.
constexpr bool log_change(ExceptionLogging l, ReplayOutcome o, bool failed) noexcept {
    if (l == ExceptionLogging::None || o == ReplayOutcome::Applied) {
        return false;
    }
    return failed || !change_kept(o, failed) || l == ExceptionLogging::All;
}

// True when the origin advances past the transaction (it is fully accounted for).
constexpr bool advances_origin(ReplayOutcome o) noexcept {
    return o != ReplayOutcome::Disable;
}

// The error_message of a change discarded only because change `failed_counter` (its
// command_counter in spock.exception_log) failed.
std::string collateral_message(ExceptionBehaviour b, long long failed_counter,
                               std::string_view failed_error);

// "[SQLSTATE] message", and " DETAIL: detail" when there is one, as exception_log records
// errors.
std::string error_text(std::string_view sqlstate, std::string_view message,
                       std::string_view detail = {});

std::string_view behaviour_name(ExceptionBehaviour b) noexcept;

}  // namespace spock::core
