#include "spock/core/delta_rule.hpp"

#include <gtest/gtest.h>

namespace spock::core {
namespace {

DeltaAction decide(bool old_known, bool old_null, bool new_null, bool local_null) {
    return decide_delta(DeltaInputs{old_known, old_null, new_null, local_null});
}

TEST(DeltaRule, LabelIsExact) {
    EXPECT_TRUE(is_delta_apply_label("spock.delta_apply"));
    EXPECT_FALSE(is_delta_apply_label("spock.DELTA_APPLY"));
    EXPECT_FALSE(is_delta_apply_label("delta_apply"));
    EXPECT_FALSE(is_delta_apply_label("spock.delta_apply "));
    EXPECT_FALSE(is_delta_apply_label(""));
}

TEST(DeltaRule, NoOldValueWhateverTheRest) {
    for (int bits = 0; bits < 8; bits++) {
        EXPECT_EQ(decide(false, bits & 1, bits & 2, bits & 4), DeltaAction::NoOldValue);
    }
}

TEST(DeltaRule, AllValuesPresentAddsTheDifference) {
    EXPECT_EQ(decide(true, false, false, false), DeltaAction::AddDelta);
}

TEST(DeltaRule, UntouchedNullColumnKeepsLocal) {
    // An UPDATE of other columns carries old = new = NULL: the local value must survive.
    EXPECT_EQ(decide(true, true, true, false), DeltaAction::KeepLocal);
    EXPECT_EQ(decide(true, true, true, true), DeltaAction::KeepLocal);
}

TEST(DeltaRule, NullToValue) {
    EXPECT_EQ(decide(true, true, false, true), DeltaAction::TakeNew);
    EXPECT_EQ(decide(true, true, false, false), DeltaAction::AddNew);
}

TEST(DeltaRule, ValueToNullSetsNull) {
    EXPECT_EQ(decide(true, false, true, false), DeltaAction::SetNull);
    EXPECT_EQ(decide(true, false, true, true), DeltaAction::SetNull);
}

TEST(DeltaRule, LocalNullAbsorbsADelta) {
    EXPECT_EQ(decide(true, false, false, true), DeltaAction::KeepLocal);
}

// Two nodes start from the same value and each applies its own change and then the other's;
// the rules must give both the same result, NULLs included. Values are modelled as optional
// integers.
struct Val {
    bool null;
    long v;
};

Val apply_rule(Val local, Val old_remote, Val new_remote) {
    switch (decide(true, old_remote.null, new_remote.null, local.null)) {
        case DeltaAction::KeepLocal:
            return local;
        case DeltaAction::AddDelta:
            return {false, local.v + new_remote.v - old_remote.v};
        case DeltaAction::AddNew:
            return {false, local.v + new_remote.v};
        case DeltaAction::TakeNew:
            return new_remote;
        case DeltaAction::SetNull:
            return {true, 0};
        case DeltaAction::NoOldValue:
            break;
    }
    return {true, -1};
}

bool same(Val a, Val b) {
    return a.null == b.null && (a.null || a.v == b.v);
}

TEST(DeltaRule, ConcurrentChangesConverge) {
    const Val null{true, 0};
    const Val vals[] = {null, {false, 0}, {false, 10}, {false, -7}};
    for (Val start : vals) {
        for (Val a : vals) {
            for (Val b : vals) {
                // One change on each node, from the same start (the column left alone is
                // a change to the same value).
                Val on_a = apply_rule(a, start, b);
                Val on_b = apply_rule(b, start, a);
                EXPECT_TRUE(same(on_a, on_b))
                    << "start " << start.null << "/" << start.v << " a " << a.null << "/" << a.v
                    << " b " << b.null << "/" << b.v;
            }
        }
    }
}

TEST(DeltaRule, Types) {
    for (const char* t : {"int2", "int4", "int8", "float4", "float8", "numeric", "money"}) {
        EXPECT_TRUE(is_delta_type_name(t)) << t;
    }
    for (const char* t : {"text", "int4[]", "interval", "bool", "", "numeric "}) {
        EXPECT_FALSE(is_delta_type_name(t)) << t;
    }
}

}  // namespace
}  // namespace spock::core
