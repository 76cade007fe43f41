// Hexadecimal digits, as PostgreSQL prints and reads them (pg_lsn, bytea's hex output, %XX
// escapes of URIs and of spock's own DDL notes).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spock::core {

// 0-15 for '0'-'9', 'a'-'f' and 'A'-'F'; -1 for anything else.
int hex_digit_value(char c) noexcept;

// The bytes of bytea's hex output ("\x" followed by two digits per byte); nullopt when the text
// is not in that form.
std::optional<std::string> decode_bytea_hex(std::string_view text);

}  // namespace spock::core
