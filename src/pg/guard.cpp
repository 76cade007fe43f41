// The error boundary between C++ exceptions and PostgreSQL's ereport (see guard.hpp).
#include "spock/pg/guard.hpp"

namespace spock::pg {

PgError::PgError(int sqlerrcode, std::string message, std::string detail, std::string hint,
                 std::string context)
    : core::Error(unpack_sql_state(sqlerrcode), std::move(message), std::move(detail),
                  std::move(hint)),
      sqlerrcode_(sqlerrcode),
      context_(std::move(context)) {}

int sqlstate_to_code(std::string_view s) noexcept {
    if (!core::is_valid_sqlstate(s)) {
        return ERRCODE_INTERNAL_ERROR;
    }
    return MAKE_SQLSTATE(s[0], s[1], s[2], s[3], s[4]);
}

namespace detail {
namespace {

// The exception being turned into an ERROR. Static storage: a backend runs one entry point at
// a time on one thread, and ereport copies the strings before anything can overwrite them.
struct CapturedError {
    int sqlerrcode;
    // Where a PostgreSQL error was raised; null for C++ exceptions. PostgreSQL fills these
    // from __FILE__ and __func__, string literals that outlive the error.
    const char* filename;
    int lineno;
    const char* funcname;
    char message[4096];
    char detail[4096];
    char hint[1024];
    char context[2048];
};
CapturedError captured;

void copy_field(char* dst, size_t size, const std::string& src) noexcept {
    size_t n = src.size() < size - 1 ? src.size() : size - 1;
    std::memcpy(dst, src.data(), n);
    dst[n] = '\0';
}

void copy_field(char* dst, size_t size, const char* src) noexcept {
    snprintf(dst, size, "%s", src ? src : "");
}

}  // namespace

void capture_current_exception() noexcept {
    captured.message[0] = captured.detail[0] = captured.hint[0] = captured.context[0] = '\0';
    captured.filename = captured.funcname = nullptr;
    captured.lineno = 0;
    try {
        throw;
    } catch (const PgError& e) {
        captured.sqlerrcode = e.sqlerrcode();
        captured.filename = e.filename();
        captured.lineno = e.lineno();
        captured.funcname = e.funcname();
        copy_field(captured.message, sizeof captured.message, e.message());
        copy_field(captured.detail, sizeof captured.detail, e.detail());
        copy_field(captured.hint, sizeof captured.hint, e.hint());
        copy_field(captured.context, sizeof captured.context, e.context());
    } catch (const core::Error& e) {
        captured.sqlerrcode = sqlstate_to_code(e.sqlstate());
        copy_field(captured.message, sizeof captured.message, e.message());
        copy_field(captured.detail, sizeof captured.detail, e.detail());
        copy_field(captured.hint, sizeof captured.hint, e.hint());
    } catch (const std::bad_alloc&) {
        captured.sqlerrcode = ERRCODE_OUT_OF_MEMORY;
        copy_field(captured.message, sizeof captured.message, "out of memory");
        copy_field(captured.detail, sizeof captured.detail,
                   "A C++ allocation inside spock failed.");
    } catch (const std::exception& e) {
        captured.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_field(captured.message, sizeof captured.message, "unexpected C++ exception in spock");
        copy_field(captured.detail, sizeof captured.detail, e.what());
    } catch (...) {
        captured.sqlerrcode = ERRCODE_INTERNAL_ERROR;
        copy_field(captured.message, sizeof captured.message,
                   "unexpected C++ exception of unknown type in spock");
    }
}

void raise_captured() {
    // ereport() spelled out, so that a PostgreSQL error keeps the location it was raised at.
    if (errstart(ERROR, TEXTDOMAIN)) {
        errcode(captured.sqlerrcode);
        errmsg_internal("%s", captured.message);
        if (captured.detail[0]) {
            errdetail_internal("%s", captured.detail);
        }
        if (captured.hint[0]) {
            errhint("%s", captured.hint);
        }
        if (captured.context[0]) {
            // The copied context already holds every callback's line up to the top; running
            // the callbacks again would repeat the outer ones. PG_CATCH blocks and the error
            // recovery of the main loop restore error_context_stack.
            error_context_stack = nullptr;
            set_errcontext_domain(TEXTDOMAIN);
            errcontext_msg("%s", captured.context);
        }
        if (captured.filename) {
            errfinish(captured.filename, captured.lineno, captured.funcname);
        } else {
            errfinish(__FILE__, __LINE__, PG_FUNCNAME_MACRO);
        }
    }
    pg_unreachable();
}

void rethrow_pg_error(MemoryContext caller_context) {
    // PG_CATCH left us in ErrorContext; CopyErrorData must copy out of it.
    MemoryContextSwitchTo(caller_context);
    ErrorData* edata = CopyErrorData();
    FlushErrorState();
    int code = edata->sqlerrcode;
    std::string message = edata->message ? edata->message : "";
    std::string detail = edata->detail ? edata->detail : "";
    std::string hint = edata->hint ? edata->hint : "";
    std::string context = edata->context ? edata->context : "";
    PgError error(code, std::move(message), std::move(detail), std::move(hint), std::move(context));
    error.set_location(edata->filename, edata->lineno, edata->funcname);
    FreeErrorData(edata);
    throw error;
}

}  // namespace detail
}  // namespace spock::pg
