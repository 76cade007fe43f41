// A small SPI layer for catalog work. Parameters travel as text (std::nullopt is SQL NULL) and
// the statement casts them ($1::oid, $2::name, ...); values come back as text. Catalog
// functions are not hot paths, so clarity wins over avoiding conversions.
//
// Every PostgreSQL call inside goes through pg_call(), so callers may own C++ objects. An error
// leaves the SPI connection open; the transaction abort that follows closes it.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "spock/core/text_array.hpp"

namespace spock::pg {

using SqlValue = core::OptionalText;
using SqlRow = std::vector<SqlValue>;

// A parameter whose type is not text: its text goes through the type's input function, or,
// for binary-compatible types such as pg_node_tree (which has no usable input function), is
// passed as the text datum itself.
struct TypedValue {
    SqlValue value;
    unsigned int type;  // an Oid
};

// Connects to SPI for the duration of one SQL-callable function.
void spi_connect();
void spi_finish();

// Runs a statement and returns every row it produced (SELECT or ... RETURNING).
std::vector<SqlRow> spi_query(const char* sql, std::initializer_list<SqlValue> params = {});

// Runs a statement and returns the number of rows it processed.
uint64_t spi_exec(const char* sql, std::initializer_list<SqlValue> params = {});

// Like spi_exec, with explicitly typed parameters (see TypedValue).
uint64_t spi_exec_typed(const char* sql, const std::vector<TypedValue>& params);

// The first column of the first row, or nullopt when there is no row or it is NULL.
SqlValue spi_value(const char* sql, std::initializer_list<SqlValue> params = {});

}  // namespace spock::pg
