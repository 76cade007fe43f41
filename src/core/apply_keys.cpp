// The keys a remote change touches; see the header.
#include "spock/core/apply_keys.hpp"

#include <type_traits>

namespace spock::core {

namespace {

enum class Value { Added, Unknown };

// Adds the spec's value in tuple; Unknown when a column is missing or an unchanged toast.
Value add_value(const KeySpec& spec, const TupleData& tuple, TxnKeys& keys) {
    if (spec.columns.empty())
        return Value::Unknown;  // a spec with no columns always stands for its whole space
    std::vector<const ColumnValue*> values;
    values.reserve(spec.columns.size());
    for (std::uint16_t c : spec.columns) {
        if (c >= tuple.columns.size())
            return Value::Unknown;
        const ColumnValue& v = tuple.columns[c];
        if (v.kind == ColumnKind::Unchanged)
            return Value::Unknown;
        values.push_back(&v);
    }
    for (const ColumnValue* v : values)
        if (v->kind == ColumnKind::Null)
            return Value::Added;  // never collides
    keys.add(spec.space, apply_key_hash(spec.space, values));
    return Value::Added;
}

bool in_identity(const RelationKeys& rel, const KeySpec& spec) {
    for (std::uint16_t c : spec.columns)
        if (c >= rel.identity.size() || !rel.identity[c])
            return false;
    return !spec.columns.empty();
}

void add_new(const RelationKeys& rel, const TupleData& tuple, TxnKeys& keys) {
    for (const KeySpec& spec : rel.specs)
        if (add_value(spec, tuple, keys) == Value::Unknown)
            keys.add_space(spec.space);
}

// The old row's values; `old` may be absent (UPDATE that kept its identity), then `fallback`
// is the new tuple, good for specs made of identity columns.
void add_old(const RelationKeys& rel, const OldTuple* old, const TupleData* fallback,
             TxnKeys& keys) {
    for (const KeySpec& spec : rel.specs) {
        const bool known = in_identity(rel, spec) || (old != nullptr && rel.old_tuple_full);
        const TupleData* src = old != nullptr ? &old->tuple : fallback;
        if (!known || src == nullptr || add_value(spec, *src, keys) == Value::Unknown)
            keys.add_space(spec.space);
    }
}

}  // namespace

std::vector<bool> identity_columns(const Relation& rel) {
    std::vector<bool> out(rel.columns.size());
    for (std::size_t i = 0; i < rel.columns.size(); ++i)
        out[i] = rel.columns[i].is_key;
    return out;
}

void add_message_keys(const ProtocolMessage& msg, const RelationKeys* rel, TxnKeys& keys) {
    std::visit(
        [&](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, Truncate> || std::is_same_v<T, LogicalMessage>) {
                keys.set_barrier();
            } else if constexpr (std::is_same_v<T, Insert> || std::is_same_v<T, Update> ||
                                 std::is_same_v<T, Delete>) {
                if constexpr (std::is_same_v<T, Insert>) {
                    if (rel != nullptr && rel->inserts_commute) {
                        return;  // commutes with every other insert; update/delete: barrier
                    }
                }
                if (rel == nullptr || !rel->keyable || rel->specs.empty()) {
                    keys.set_barrier();
                    return;
                }
                if constexpr (std::is_same_v<T, Insert>) {
                    add_new(*rel, m.new_tuple, keys);
                } else if constexpr (std::is_same_v<T, Update>) {
                    add_old(*rel, m.old_tuple ? &*m.old_tuple : nullptr, &m.new_tuple, keys);
                    add_new(*rel, m.new_tuple, keys);
                } else {
                    add_old(*rel, &m.old_tuple, nullptr, keys);
                }
            }
        },
        msg);
}

}  // namespace spock::core
