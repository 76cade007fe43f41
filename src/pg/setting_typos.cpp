// See include/spock/pg/setting_typos.hpp.
#include "spock/pg/setting_typos.hpp"

#include <string>
#include <vector>

#include "spock/core/setting_names.hpp"
#include "spock/pg/guard.hpp"

extern "C" {
#include <nodes/parsenodes.h>
#include <utils/guc.h>
#include <utils/guc_tables.h>
}

namespace spock::pg {
namespace {

bool has_spock_prefix(const char* name) {
    return pg_strncasecmp(name, "spock.", 6) == 0;
}

// The names of the real spock.* settings, and of the placeholders.
void spock_settings(std::vector<std::string>* real, std::vector<std::string>* placeholders) {
    config_generic** vars = get_guc_variables();
    int n = GetNumConfigOptions();
    for (int i = 0; i < n; i++) {
        if (!has_spock_prefix(vars[i]->name)) {
            continue;
        }
        if ((vars[i]->flags & GUC_CUSTOM_PLACEHOLDER) != 0) {
            placeholders->emplace_back(vars[i]->name);
        } else {
            real->emplace_back(vars[i]->name);
        }
    }
}

void warn_typo(const std::string& name, const std::string& real) {
    pg_call([&] {
        ereport(WARNING, (errcode(ERRCODE_UNDEFINED_OBJECT),
                          errmsg("\"%s\" is not a spock setting", name.c_str()),
                          errdetail("It is kept as a custom setting and has no effect on spock."),
                          errhint("Did you mean \"%s\"?", real.c_str())));
    });
}

}  // namespace

void warn_about_mistyped_placeholders() {
    std::vector<std::string> real;
    std::vector<std::string> placeholders;
    spock_settings(&real, &placeholders);
    for (const std::string& p : placeholders) {
        if (auto close = core::closest_setting(p, real)) {
            warn_typo(p, *close);
        }
    }
}

void check_setting_statement(Node* parsetree) {
    const char* name = nullptr;
    if (IsA(parsetree, VariableSetStmt)) {
        name = castNode(VariableSetStmt, parsetree)->name;
    } else if (IsA(parsetree, AlterSystemStmt)) {
        name = castNode(AlterSystemStmt, parsetree)->setstmt->name;
    }
    if (name == nullptr || !has_spock_prefix(name)) {
        return;
    }
    guarded([name] {
        std::vector<std::string> real;
        std::vector<std::string> placeholders;
        spock_settings(&real, &placeholders);
        if (auto close = core::closest_setting(name, real)) {
            warn_typo(name, *close);
        }
    });
}

}  // namespace spock::pg
