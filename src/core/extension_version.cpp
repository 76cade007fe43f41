// Which installed extension versions the manager updates. See extension_version.hpp.
#include "spock/core/extension_version.hpp"

namespace spock::core {

namespace {
// The last Spock 5.0 release; sql/spock--5.0.N--5.0.N+1.sql exist up to it.
constexpr int kLastSpock50Patch = 11;
}  // namespace

bool is_spock50_version(std::string_view version) noexcept {
    constexpr std::string_view prefix = "5.0.";
    if (version.substr(0, prefix.size()) != prefix) {
        return false;
    }
    std::string_view patch = version.substr(prefix.size());
    if (patch.empty() || patch.size() > 2 || (patch.size() == 2 && patch[0] == '0')) {
        return false;
    }
    int n = 0;
    for (char c : patch) {
        if (c < '0' || c > '9') {
            return false;
        }
        n = n * 10 + (c - '0');
    }
    return n <= kLastSpock50Patch;
}

ExtensionAction extension_action(std::string_view installed, std::string_view library) noexcept {
    if (installed == library) {
        return ExtensionAction::Current;
    }
    if (is_spock50_version(installed)) {
        return ExtensionAction::Update;
    }
    return ExtensionAction::Unsupported;
}

}  // namespace spock::core
