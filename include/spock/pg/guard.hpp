// The C++ / PostgreSQL error boundary (docs/architecture.md).
//
// PostgreSQL reports errors with siglongjmp, C++ with exceptions. Neither may cross into the
// other's frames:
//
//  * guarded(fn) wraps the body of every entry point PostgreSQL calls. A C++ exception thrown
//    inside fn is caught, its fields are copied into static storage (nothing that can fail
//    inside a catch block), the catch block is left, and only then is ereport(ERROR) raised with
//    the SQLSTATE, message, detail and hint the exception carried.
//
//  * pg_call(fn) wraps a PostgreSQL call made from a C++ frame that owns objects with
//    destructors. A PostgreSQL ERROR inside fn is caught with PG_TRY, copied, flushed, and
//    rethrown as spock::pg::PgError, so the C++ frames above unwind normally. fn itself must own
//    nothing with a destructor: put the guard at the call site, below the objects.
//
// A PgError leaves the current (sub)transaction in need of an abort: either let it reach
// guarded(), which re-raises it, or catch it inside a subtransaction that is rolled back
// (see subtransaction.hpp).
#pragma once

#include "spock/core/error.hpp"
#include "spock/pg/postgres.hpp"

extern "C" {
#include <utils/elog.h>
#include <utils/memutils.h>
}

namespace spock::pg {

// A PostgreSQL error rethrown into C++. Besides the SQLSTATE text it keeps the numeric code
// and the error level, so a re-raise reproduces the original exactly.
class PgError : public core::Error {
  public:
    PgError(int sqlerrcode, std::string message, std::string detail, std::string hint,
            std::string context);
    int sqlerrcode() const noexcept { return sqlerrcode_; }
    const std::string& context() const noexcept { return context_; }
    const char* filename() const noexcept { return filename_; }
    int lineno() const noexcept { return lineno_; }
    const char* funcname() const noexcept { return funcname_; }
    void set_location(const char* filename, int lineno, const char* funcname) noexcept {
        filename_ = filename;
        lineno_ = lineno;
        funcname_ = funcname;
    }

  private:
    int sqlerrcode_;
    std::string context_;
    const char* filename_ = nullptr;
    int lineno_ = 0;
    const char* funcname_ = nullptr;
};

// Converts a SQLSTATE string such as "42704" into PostgreSQL's packed code.
int sqlstate_to_code(std::string_view sqlstate) noexcept;

namespace detail {

// Records the exception currently being handled. Called only inside a catch block; it copies
// into fixed static buffers and never allocates, so it cannot fail or longjmp.
void capture_current_exception() noexcept;

// Raises the captured exception as ereport(ERROR). Called only outside any catch block.
[[noreturn]] void raise_captured();

// Builds a PgError from PostgreSQL's current error state and flushes it. Called from PG_CATCH
// after switching back to the caller's memory context.
[[noreturn]] void rethrow_pg_error(MemoryContext caller_context);

}  // namespace detail

// Runs the body of an entry point. See the file comment.
template <typename F>
auto guarded(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    bool failed = false;
    // A C++ exception may leave frames that pushed error context callbacks without popping
    // them; the stack is put back as it was on entry before the error is raised.
    ErrorContextCallback* saved_context_stack = error_context_stack;
    try {
        if constexpr (std::is_void_v<R>) {
            fn();
            return;
        } else {
            return fn();
        }
    } catch (...) {
        detail::capture_current_exception();
        failed = true;
    }
    // Outside the catch block: the exception object is gone, longjmp is safe again.
    if (failed) {
        error_context_stack = saved_context_stack;
        detail::raise_captured();
    }
    pg_unreachable();
}

// Runs a PostgreSQL call from a C++ frame. See the file comment. fn must return void or a
// trivially copyable value (Datum, a pointer, a number).
template <typename F>
auto pg_call(F&& fn) -> decltype(fn()) {
    using R = decltype(fn());
    static_assert(std::is_void_v<R> || std::is_trivially_copyable_v<R>,
                  "pg_call returns only plain values");
    MemoryContext caller_context = CurrentMemoryContext;
    volatile bool failed = false;
    // A C++ exception from fn (from a nested pg_call, say) must not unwind out of the PG_TRY
    // block: PostgreSQL's exception stack would go on pointing at this frame. It is caught
    // inside and rethrown after PG_END_TRY.
    std::exception_ptr cpp_error;
    if constexpr (std::is_void_v<R>) {
        PG_TRY();
        {
            try {
                fn();
            } catch (...) {
                cpp_error = std::current_exception();
            }
        }
        PG_CATCH();
        { failed = true; }
        PG_END_TRY();
        if (failed) {
            detail::rethrow_pg_error(caller_context);
        }
        if (cpp_error) {
            std::rethrow_exception(cpp_error);
        }
    } else {
        // volatile: the value is written between sigsetjmp and a possible longjmp.
        R volatile result{};
        PG_TRY();
        {
            try {
                result = fn();
            } catch (...) {
                cpp_error = std::current_exception();
            }
        }
        PG_CATCH();
        { failed = true; }
        PG_END_TRY();
        if (failed) {
            detail::rethrow_pg_error(caller_context);
        }
        if (cpp_error) {
            std::rethrow_exception(cpp_error);
        }
        return result;
    }
}

}  // namespace spock::pg

// Declares a SQL-callable C function whose body runs inside guarded(). Use as
//   SPOCK_PG_FUNCTION(spock_version) { return CStringGetTextDatum("5.1.0"); }
// The body sees `fcinfo` like any version-1 function.
#define SPOCK_PG_FUNCTION(name)                                                         \
    static Datum name##_body(FunctionCallInfo fcinfo);                                  \
    extern "C" {                                                                        \
    SPOCK_EXPORT Datum name(PG_FUNCTION_ARGS);                                          \
    PG_FUNCTION_INFO_V1(name);                                                          \
    }                                                                                   \
    Datum name(PG_FUNCTION_ARGS) {                                                      \
        return spock::pg::guarded([fcinfo]() -> Datum { return name##_body(fcinfo); }); \
    }                                                                                   \
    static Datum name##_body(FunctionCallInfo fcinfo)
