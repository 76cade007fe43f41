// Version and protocol information functions (reference §3.8).
#include "spock/core/version.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <utils/builtins.h>
}

SPOCK_PG_FUNCTION(spock_version) {
    (void)fcinfo;
    return CStringGetTextDatum(spock::core::kVersion);
}

SPOCK_PG_FUNCTION(spock_version_num) {
    (void)fcinfo;
    return Int32GetDatum(spock::core::kVersionNum);
}

SPOCK_PG_FUNCTION(spock_max_proto_version) {
    (void)fcinfo;
    return Int32GetDatum(spock::core::kMaxProtoVersion);
}

SPOCK_PG_FUNCTION(spock_min_proto_version) {
    (void)fcinfo;
    return Int32GetDatum(spock::core::kMinProtoVersion);
}
