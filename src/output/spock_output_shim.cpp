// spock_output.so: the plugin name logical slots use. Everything lives in spock.so; this module
// only forwards the plugin initialisation there.
#include "spock/pg/guard.hpp"

extern "C" {
#include <replication/output_plugin.h>
}

extern "C" {
PG_MODULE_MAGIC;
SPOCK_EXPORT void _PG_output_plugin_init(OutputPluginCallbacks* cb);
}

void _PG_output_plugin_init(OutputPluginCallbacks* cb) {
    spock::pg::guarded([cb] {
        // load_external_function() raises an ERROR if spock.so or the symbol is missing.
        auto init = reinterpret_cast<LogicalOutputPluginInit>(
            load_external_function("spock", "_PG_output_plugin_init", true, nullptr));
        init(cb);
    });
}
