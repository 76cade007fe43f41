// The text form of one-dimensional PostgreSQL arrays ({a,"b c",NULL}), so that glue code can
// pass arrays to SPI as text parameters and read them back.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace spock::core {

using OptionalText = std::optional<std::string>;

// Every element is double-quoted, with quotes and backslashes escaped; nullopt becomes NULL.
std::string to_array_literal(const std::vector<OptionalText>& values);

// Parses what array_out prints for a one-dimensional array. Unquoted NULL is SQL NULL.
// Throws core::Error (22P02) on malformed input.
std::vector<OptionalText> from_array_literal(const std::string& literal);

}  // namespace spock::core
