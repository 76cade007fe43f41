// What the manager does when the extension's SQL objects are at another version than the
// library (docs/upgrading.md): a database that Spock 5.0.x made, whose spock.so was replaced by
// ours, is updated with ALTER EXTENSION spock UPDATE, as Spock's own manager updates its
// extension (reference §1.3). Any other version is left alone and reported.
#pragma once

#include <string_view>

namespace spock::core {

enum class ExtensionAction {
    Current,      // the SQL objects are the library's
    Update,       // a Spock 5.0.x version with an update path to the library's
    Unsupported,  // anything else: no update path, or newer than the library
};

// `installed` is pg_extension.extversion, `library` the library's version (kVersion).
ExtensionAction extension_action(std::string_view installed, std::string_view library) noexcept;

// True for "5.0.0" ... "5.0.11", the versions spock ships update scripts from.
bool is_spock50_version(std::string_view version) noexcept;

}  // namespace spock::core
