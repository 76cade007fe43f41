// The manager's update of an extension left at Spock 5.0.x. See extension_update.hpp.
#include "extension_update.hpp"

#include "spock/core/extension_version.hpp"
#include "spock/core/version.hpp"
#include "spock/pg/guard.hpp"
#include "spock/pg/spi.hpp"
#include "spock/pg/xact.hpp"

extern "C" {
#include <access/xlog.h>
}

namespace spock::worker {

namespace {

// pg_extension's version of spock; nullopt without the extension.
pg::SqlValue installed_version() {
    pg::begin_xact();
    pg::spi_connect();
    pg::SqlValue v =
        pg::spi_value("SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'spock'");
    pg::spi_finish();
    pg::commit_xact();
    return v;
}

}  // namespace

bool ExtensionUpdate::ready() {
    pg::SqlValue installed = installed_version();
    if (!installed) {
        return true;
    }
    const std::string& from = *installed;
    switch (core::extension_action(from, core::kVersion)) {
        case core::ExtensionAction::Current:
            warned_.clear();
            return true;
        case core::ExtensionAction::Unsupported:
            if (warned_ != from) {
                warned_ = from;
                pg::pg_call([&] {
                    ereport(WARNING,
                            (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                             errmsg("extension spock is at version %s, which library version %s "
                                    "cannot update",
                                    from.c_str(), core::kVersion),
                             errdetail("No apply worker starts in this database while the SQL "
                                       "objects and the library differ."),
                             errhint("Install the spock library that matches version %s, or drop "
                                     "and create the extension.",
                                     from.c_str())));
                });
            }
            return false;
        case core::ExtensionAction::Update:
            break;
    }
    if (pg::pg_call([] { return RecoveryInProgress(); })) {
        return false;
    }
    try {
        pg::begin_xact();
        pg::spi_connect();
        pg::spi_exec("ALTER EXTENSION spock UPDATE");
        pg::spi_finish();
        pg::commit_xact();
    } catch (const core::Error& e) {
        pg::abort_xact();
        if (warned_ != from) {
            warned_ = from;
            std::string why = e.message();
            if (!e.detail().empty()) {
                why += ": " + e.detail();
            }
            pg::pg_call([&] {
                ereport(WARNING,
                        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                         errmsg("could not update extension spock from version %s to %s",
                                from.c_str(), core::kVersion),
                         errdetail("ALTER EXTENSION spock UPDATE failed: %s.", why.c_str()),
                         errhint("Fix the cause and run ALTER EXTENSION spock UPDATE in this "
                                 "database; no apply worker starts here until then.")));
            });
        }
        return false;
    }
    warned_.clear();
    pg::pg_call([&] {
        ereport(LOG, (errmsg("updated extension spock from version %s to %s", from.c_str(),
                             core::kVersion)));
    });
    return true;
}

}  // namespace spock::worker
