// SQL functions whose feature lands in a later release. They exist with their final
// signatures so that scripts and peers see the full Spock 5 API, and each one says plainly
// which feature is missing (0A000 feature_not_supported) instead of doing nothing.
#include "spock/pg/guard.hpp"

namespace {

[[noreturn]] void not_yet(const char* function, const char* feature) {
    throw spock::core::Error(
        spock::core::sqlstate::kFeatureNotSupported,
        std::string("spock.") + function + "() is not available yet",
        std::string("This build of spock does not include ") + feature + " yet.",
        "See the feature status table in README.md.");
}

}  // namespace

#define SPOCK_NOT_YET(symbol, function, feature) \
    SPOCK_PG_FUNCTION(symbol) {                  \
        (void)fcinfo;                            \
        not_yet(function, feature);              \
    }

// Messages through the replication stream.
SPOCK_NOT_YET(spock_replicate_ddl, "replicate_ddl", "DDL replication")
