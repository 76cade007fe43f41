// The logical decoding output plugin's entry point inside spock.so. spock_output.so (the name
// slots are created with) hands over to this function.
//
// The native protocol encoder lands with the output-plugin work; until then starting a
// decoding session with this plugin fails with a clear error instead of producing anything.
#include "spock/pg/guard.hpp"

extern "C" {
#include <replication/logical.h>
#include <replication/output_plugin.h>
}

namespace {

void startup(LogicalDecodingContext*, OutputPluginOptions*, bool) {
    ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                    errmsg("the spock_output plugin cannot decode changes yet"),
                    errdetail("The native protocol encoder is not part of this build."),
                    errhint("Use a spock build that includes the output plugin.")));
}

void begin(LogicalDecodingContext*, ReorderBufferTXN*) {}
void change(LogicalDecodingContext*, ReorderBufferTXN*, Relation, ReorderBufferChange*) {}
void commit(LogicalDecodingContext*, ReorderBufferTXN*, XLogRecPtr) {}

}  // namespace

extern "C" SPOCK_EXPORT void _PG_output_plugin_init(OutputPluginCallbacks* cb);

void _PG_output_plugin_init(OutputPluginCallbacks* cb) {
    cb->startup_cb = startup;
    cb->begin_cb = begin;
    cb->change_cb = change;
    cb->commit_cb = commit;
}
