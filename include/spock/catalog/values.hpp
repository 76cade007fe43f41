// Text conversions between spock's catalog columns and the SPI layer (include/spock/pg/spi.hpp),
// shared by every reader and writer of spock's catalog tables.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spock/pg/spi.hpp"

namespace spock::catalog {

// An oid or counter as an SPI parameter.
std::string to_text(std::uint32_t v);
// An oid column; raises XX000 on NULL, which spock's catalog never stores there.
std::uint32_t to_u32(const pg::SqlValue& v);
// A boolean column; NULL reads as false.
bool to_bool(const pg::SqlValue& v);
// NULL for an empty list, the way Spock stores empty arrays.
pg::SqlValue array_or_null(const std::vector<std::string>& values);
// The non-NULL elements of an array column; an empty list for NULL.
std::vector<std::string> array_values(const pg::SqlValue& literal);

}  // namespace spock::catalog
