#include "spock/pg/slot_filter_check.hpp"

#include <string>
#include <vector>

#include "spock/core/error.hpp"
#include "spock/core/failover_slots.hpp"

extern "C" {
#include <nodes/pg_list.h>
#include <utils/varlena.h>
}

namespace spock::pg {

namespace {

// The list items, or false when the list syntax itself is broken. Plain glue (no C++ objects).
bool split_items(const char* value, List** items, char** buf) {
    *buf = pstrdup(value);
    *items = NIL;
    return SplitGUCList(*buf, ',', items);
}

}  // namespace

bool check_synchronize_slot_names(char** newval, void** /*extra*/, GucSource /*source*/) {
    if (*newval == nullptr) {
        return true;
    }
    List* list = NIL;
    char* buf = nullptr;
    if (!split_items(*newval, &list, &buf)) {
        GUC_check_errdetail("List syntax is invalid.");
        return false;
    }
    // A check hook must not raise: the C++ part reports through a flag and static text.
    static char message[512];
    static char hint[256];
    bool ok = true;
    try {
        std::vector<std::string> items;
        ListCell* lc;
        foreach (lc, list) {
            items.emplace_back(static_cast<const char*>(lfirst(lc)));
        }
        core::parse_slot_filters(items);
    } catch (const core::Error& e) {
        // Nothing in a catch block allocates (docs/architecture.md, the error boundary).
        strlcpy(message, e.detail().c_str(), sizeof message);
        strlcpy(hint, e.hint().c_str(), sizeof hint);
        ok = false;
    } catch (...) {
        strlcpy(message, "The value could not be checked.", sizeof message);
        hint[0] = '\0';
        ok = false;
    }
    list_free(list);
    pfree(buf);
    if (!ok) {
        GUC_check_errdetail("%s", message);
        if (hint[0] != '\0') {
            GUC_check_errhint("%s", hint);
        }
    }
    return ok;
}

}  // namespace spock::pg
