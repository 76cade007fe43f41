// See include/spock/core/setting_names.hpp.
#include "spock/core/setting_names.hpp"

#include <algorithm>
#include <cctype>

namespace spock::core {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string_view without_prefix(std::string_view name) {
    std::size_t dot = name.find('.');
    return dot == std::string_view::npos ? name : name.substr(dot + 1);
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); j++) {
        row[j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); i++) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); j++) {
            std::size_t up = row[j];
            std::size_t sub = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({up + 1, row[j - 1] + 1, sub});
            diag = up;
        }
    }
    return row[b.size()];
}

std::size_t typo_threshold(std::string_view name) noexcept {
    std::size_t n = without_prefix(name).size();
    return n <= 4 ? 1 : (n <= 12 ? 2 : 3);
}

std::optional<std::string> closest_setting(std::string_view name,
                                           const std::vector<std::string>& candidates) {
    std::string wanted = lower(name);
    std::size_t limit = typo_threshold(name);
    std::optional<std::string> best;
    std::size_t best_distance = limit + 1;
    for (const std::string& c : candidates) {
        std::size_t d = edit_distance(wanted, lower(c));
        if (d == 0) {
            return std::nullopt;  // it is a real setting
        }
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

}  // namespace spock::core
