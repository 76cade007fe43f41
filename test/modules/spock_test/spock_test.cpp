// Test-only SQL functions that show the error boundary works inside a real server: C++
// exceptions become ERRORs with the intended SQLSTATE, PostgreSQL errors travel through C++
// frames and come back out unchanged, and destructors run on both paths.
#include "spock/pg/guard.hpp"

#include <memory>
#include <stdexcept>

extern "C" {
#include <access/xact.h>
#include <executor/spi.h>
#include <utils/builtins.h>
#include <utils/resowner.h>
}

extern "C" {
PG_MODULE_MAGIC;
}

namespace {

// Backend-local: each test checks the difference before and after a call.
int64 destructor_count = 0;

// An object whose destructor the tests can observe.
struct Tracked {
    std::unique_ptr<std::string> payload = std::make_unique<std::string>("tracked");
    ~Tracked() { destructor_count++; }
};

std::string text_arg(FunctionCallInfo fcinfo, int n) {
    if (PG_ARGISNULL(n)) {
        return {};
    }
    char* s = text_to_cstring(PG_GETARG_TEXT_PP(n));
    std::string out(s);
    pfree(s);
    return out;
}

// Runs `query` through SPI and returns the first value, as text, or "" when there is none.
// The SPI calls go through pg_call because the caller owns a Tracked object.
std::string run_spi(const std::string& query) {
    spock::pg::pg_call([] { SPI_connect(); });
    const char* sql = query.c_str();
    int rc = spock::pg::pg_call([sql] { return SPI_execute(sql, false, 1); });
    std::string result;
    if (rc > 0 && SPI_processed > 0 && SPI_tuptable != nullptr) {
        char* v = spock::pg::pg_call(
            [] { return SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1); });
        result = v ? v : "";
    }
    spock::pg::pg_call([] { SPI_finish(); });
    return result;
}

}  // namespace

SPOCK_PG_FUNCTION(spock_test_throw_cpp_error) {
    Tracked tracked;
    if (PG_ARGISNULL(0) || PG_ARGISNULL(1)) {
        throw spock::core::Error(spock::core::sqlstate::kNullValueNotAllowed,
                                 "sqlstate and message must not be NULL");
    }
    throw spock::core::Error(text_arg(fcinfo, 0), text_arg(fcinfo, 1), text_arg(fcinfo, 2),
                             text_arg(fcinfo, 3));
}

SPOCK_PG_FUNCTION(spock_test_throw_std_exception) {
    Tracked tracked;
    std::string kind = text_arg(fcinfo, 0);
    if (kind == "bad_alloc") {
        throw std::bad_alloc();
    }
    if (kind == "runtime_error") {
        throw std::runtime_error("something went wrong in C++");
    }
    if (kind == "int") {
        throw 42;
    }
    throw spock::core::Error(spock::core::sqlstate::kInvalidParameterValue,
                             "unknown exception kind \"" + kind + "\"", {},
                             "Use bad_alloc, runtime_error or int.");
}

SPOCK_PG_FUNCTION(spock_test_run_query_in_cpp) {
    Tracked tracked;
    std::string result = run_spi(text_arg(fcinfo, 0));
    return CStringGetTextDatum(result.c_str());
}

SPOCK_PG_FUNCTION(spock_test_catch_query_error_in_cpp) {
    Tracked tracked;
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    spock::pg::pg_call([] { BeginInternalSubTransaction(nullptr); });
    std::string outcome;
    try {
        run_spi(text_arg(fcinfo, 0));
        spock::pg::pg_call([] { ReleaseCurrentSubTransaction(); });
        outcome = "ok";
    } catch (const spock::pg::PgError& e) {
        // SPI_finish was skipped by the error; rolling the subtransaction back cleans it up.
        spock::pg::pg_call([] { RollbackAndReleaseCurrentSubTransaction(); });
        outcome = e.sqlstate() + "|" + e.message() + "|" + e.detail() + "|" + e.hint();
    }
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    return CStringGetTextDatum(outcome.c_str());
}

SPOCK_PG_FUNCTION(spock_test_destructor_runs) {
    (void)fcinfo;
    return Int64GetDatum(destructor_count);
}
