// The local row a replayed change found, for its spock.exception_log row. See
// apply_internal.hpp.
#include "apply_internal.hpp"

extern "C" {
#include <lib/stringinfo.h>
#include <utils/builtins.h>
#include <utils/json.h>
#include <utils/lsyscache.h>
#include <utils/memutils.h>
}

namespace spock::apply::detail {
namespace {

bool capturing = false;
MemoryContext capture_cxt = nullptr;
LocalRowCapture capture;

char* slot_json(TupleTableSlot* slot) {
    TupleDesc desc = slot->tts_tupleDescriptor;
    slot_getallattrs(slot);
    StringInfoData out;
    initStringInfo(&out);
    appendStringInfoChar(&out, '[');
    bool first = true;
    for (int k = 0; k < desc->natts; k++) {
        Form_pg_attribute att = TupleDescAttr(desc, k);
        if (att->attisdropped) {
            continue;
        }
        if (!first) {
            appendStringInfoString(&out, ", ");
        }
        first = false;
        appendStringInfoString(&out, "{\"attname\": ");
        escape_json(&out, NameStr(att->attname));
        appendStringInfoString(&out, ", \"atttype\": ");
        escape_json(&out, format_type_be(att->atttypid));
        appendStringInfoString(&out, ", \"value\": ");
        if (slot->tts_isnull[k]) {
            appendStringInfoString(&out, "null");
        } else {
            Oid fn;
            bool varlena;
            getTypeOutputInfo(att->atttypid, &fn, &varlena);
            escape_json(&out, OidOutputFunctionCall(fn, slot->tts_values[k]));
        }
        appendStringInfoChar(&out, '}');
    }
    appendStringInfoChar(&out, ']');
    return out.data;
}

}  // namespace

void begin_local_capture() {
    if (capture_cxt == nullptr) {
        capture_cxt =
            AllocSetContextCreate(TopMemoryContext, "spock replay local row", ALLOCSET_SMALL_SIZES);
    }
    MemoryContextReset(capture_cxt);
    memset(&capture, 0, sizeof capture);
    capturing = true;
}

void end_local_capture() {
    capturing = false;
}

const LocalRowCapture* captured_local_row() {
    return capture.found ? &capture : nullptr;
}

void note_local_row(TupleTableSlot* local, const LocalOrigin* origin, const RemoteTxn& txn) {
    if (!capturing) {
        return;
    }
    MemoryContext old = MemoryContextSwitchTo(capture_cxt);
    LocalOrigin read;
    if (origin == nullptr) {
        read_local_origin(txn, local, &read);
        origin = &read;
    }
    capture.found = true;
    capture.tuple_json = slot_json(local);
    if (!origin->frozen) {
        capture.origin_known = true;
        capture.local_change = origin->local_change;
        capture.node = origin->node;
        capture.commit_ts = origin->commit_ts;
    }
    MemoryContextSwitchTo(old);
}

}  // namespace spock::apply::detail
