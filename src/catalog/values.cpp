#include "spock/catalog/values.hpp"

#include "spock/core/error.hpp"
#include "spock/core/text_array.hpp"

namespace spock::catalog {

using pg::SqlValue;

std::string to_text(std::uint32_t v) {
    return std::to_string(v);
}

std::uint32_t to_u32(const SqlValue& v) {
    if (!v) {
        throw core::Error(core::sqlstate::kInternalError, "unexpected NULL in spock catalog");
    }
    return static_cast<std::uint32_t>(std::stoul(*v));
}

bool to_bool(const SqlValue& v) {
    return v && *v == "t";
}

SqlValue array_or_null(const std::vector<std::string>& values) {
    if (values.empty()) {
        return std::nullopt;
    }
    std::vector<core::OptionalText> items(values.begin(), values.end());
    return core::to_array_literal(items);
}

std::vector<std::string> array_values(const SqlValue& literal) {
    std::vector<std::string> out;
    if (!literal) {
        return out;
    }
    for (auto& v : core::from_array_literal(*literal)) {
        if (v) {
            out.push_back(*v);
        }
    }
    return out;
}

}  // namespace spock::catalog
