#include "spock/core/text_array.hpp"

#include "spock/core/error.hpp"

namespace spock::core {

std::string to_array_literal(const std::vector<OptionalText>& values) {
    std::string out = "{";
    bool first = true;
    for (const OptionalText& v : values) {
        if (!first) {
            out += ',';
        }
        first = false;
        if (!v) {
            out += "NULL";
            continue;
        }
        out += '"';
        for (char c : *v) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

namespace {

[[noreturn]] void malformed(const std::string& literal, size_t pos) {
    throw Error("22P02", "malformed array literal: \"" + literal + "\"",
                "Unexpected input at position " + std::to_string(pos) + ".");
}

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

}  // namespace

std::vector<OptionalText> from_array_literal(const std::string& literal) {
    std::vector<OptionalText> out;
    size_t i = 0;
    size_t n = literal.size();
    while (i < n && is_space(literal[i])) {
        i++;
    }
    if (i >= n || literal[i] != '{') {
        malformed(literal, i);
    }
    i++;
    if (i < n && literal[i] == '}') {
        i++;
    } else {
        for (;;) {
            while (i < n && is_space(literal[i])) {
                i++;
            }
            if (i >= n) {
                malformed(literal, i);
            }
            std::string elem;
            bool quoted = literal[i] == '"';
            if (quoted) {
                i++;
                while (i < n && literal[i] != '"') {
                    if (literal[i] == '\\') {
                        i++;
                        if (i >= n) {
                            malformed(literal, i);
                        }
                    }
                    elem += literal[i++];
                }
                if (i >= n) {
                    malformed(literal, i);
                }
                i++;  // closing quote
            } else {
                while (i < n && literal[i] != ',' && literal[i] != '}') {
                    if (literal[i] == '"' || literal[i] == '{') {
                        malformed(literal, i);
                    }
                    elem += literal[i++];
                }
                while (!elem.empty() && is_space(elem.back())) {
                    elem.pop_back();
                }
                if (elem.empty()) {
                    malformed(literal, i);
                }
            }
            while (i < n && is_space(literal[i])) {
                i++;
            }
            if (!quoted && elem == "NULL") {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(std::move(elem));
            }
            if (i < n && literal[i] == ',') {
                i++;
                continue;
            }
            if (i < n && literal[i] == '}') {
                i++;
                break;
            }
            malformed(literal, i);
        }
    }
    while (i < n && is_space(literal[i])) {
        i++;
    }
    if (i != n) {
        malformed(literal, i);
    }
    return out;
}

}  // namespace spock::core
