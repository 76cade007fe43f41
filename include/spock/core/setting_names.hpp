// Suggestions for mistyped spock.* settings (docs/configuration.md, "Custom spock.* settings").
// The spock. prefix is not reserved: placeholder settings such as spock.my_var are accepted,
// as Spock accepts them. A name that is close to a real setting gets a WARNING naming it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace spock::core {

// Levenshtein distance (insert, delete, substitute, each costs 1), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The largest distance at which `name` is taken for a typo: 1 for names of up to 4 characters
// after the prefix, 2 up to 12, 3 beyond.
std::size_t typo_threshold(std::string_view name) noexcept;

// The real setting `name` is most probably a typo of: the candidate at the smallest distance,
// the first one on ties, when that distance is within typo_threshold(name) and not 0. Names
// are compared lower-cased, as PostgreSQL compares setting names.
std::optional<std::string> closest_setting(std::string_view name,
                                           const std::vector<std::string>& candidates);

}  // namespace spock::core
