// The way glue code includes PostgreSQL: standard library first (PostgreSQL's port.h renames
// snprintf and friends), then postgres.h and fmgr.h with C linkage. Further PostgreSQL headers a
// file needs go in its own extern "C" block after this one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <type_traits>

extern "C" {
#include <postgres.h>
#include <fmgr.h>
}

// Symbols PostgreSQL must find with dlsym. The build uses -fvisibility=hidden, so anything not
// marked with this stays private to the module (no fmt, Boost or core symbols leak out).
#define SPOCK_EXPORT __attribute__((visibility("default")))
