// Reading arguments of SQL-callable functions and building their results, for C++ bodies.
//
// Spock declares most functions STRICT, so a NULL argument makes them return NULL without a
// word (reference §14 item 5). Ours are CALLED ON NULL INPUT and the *_arg readers below raise
// 22004 null_value_not_allowed naming the argument instead.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "spock/pg/postgres.hpp"
#include "spock/pg/spi.hpp"

namespace spock::pg {

// Raises 22004 "<argname> must not be NULL" when argument n is NULL.
void require_arg(FunctionCallInfo fcinfo, int n, const char* argname);

std::string name_arg(FunctionCallInfo fcinfo, int n, const char* argname);
std::string text_arg(FunctionCallInfo fcinfo, int n, const char* argname);
bool bool_arg(FunctionCallInfo fcinfo, int n, const char* argname);
Oid oid_arg(FunctionCallInfo fcinfo, int n, const char* argname);

SqlValue opt_text_arg(FunctionCallInfo fcinfo, int n);
std::optional<bool> opt_bool_arg(FunctionCallInfo fcinfo, int n);
std::optional<Oid> opt_oid_arg(FunctionCallInfo fcinfo, int n);

// Any argument in its text form, through the output function of `type`.
SqlValue arg_as_text(FunctionCallInfo fcinfo, int n, Oid type);

// A text[] argument. NULL array -> 22004; NULL elements -> 22004 as well.
std::vector<std::string> text_array_arg(FunctionCallInfo fcinfo, int n, const char* argname);
std::optional<std::vector<std::string>> opt_text_array_arg(FunctionCallInfo fcinfo, int n,
                                                           const char* argname);

Datum text_datum(const std::string& s);

// Builds the composite result of a function with OUT parameters from text values.
Datum record_result(FunctionCallInfo fcinfo, const SqlRow& values);

// Returns a set of composite rows (materialize mode) from text values.
Datum rows_result(FunctionCallInfo fcinfo, const std::vector<SqlRow>& rows);

}  // namespace spock::pg
