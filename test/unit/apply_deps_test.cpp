// Dependency tracking for parallel apply: independence, chains, barriers, the bounded key
// table (wraparound) and key extraction from protocol messages.
#include "spock/core/apply_deps.hpp"
#include "spock/core/apply_keys.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace spock::core;

std::uint64_t h(KeySpace space, const std::string& text) {
    ColumnValue v{ColumnKind::Text, text};
    const ColumnValue* p = &v;
    return apply_key_hash(space, std::span<const ColumnValue* const>(&p, 1));
}

TxnKeys keys_of(std::initializer_list<std::pair<KeySpace, std::string>> ks) {
    TxnKeys t;
    for (const auto& [s, v] : ks)
        t.add(s, h(s, v));
    return t;
}

TEST(ApplyKeyHash, DistinguishesSpaceKindAndValue) {
    EXPECT_NE(h(1, "a"), h(2, "a"));
    EXPECT_NE(h(1, "a"), h(1, "b"));
    EXPECT_EQ(h(7, "abcdefghijk"), h(7, "abcdefghijk"));
    EXPECT_NE(h(7, "abcdefghijk"), h(7, "abcdefghijl"));
    ColumnValue t{ColumnKind::Text, "1"}, b{ColumnKind::Binary, "1"}, n{ColumnKind::Null, ""},
        e{ColumnKind::Text, ""};
    const ColumnValue* pt = &t;
    const ColumnValue* pb = &b;
    const ColumnValue* pn = &n;
    const ColumnValue* pe = &e;
    auto one = [](const ColumnValue* const& p) {
        return apply_key_hash(3, std::span<const ColumnValue* const>(&p, 1));
    };
    EXPECT_NE(one(pt), one(pb));
    EXPECT_NE(one(pn), one(pe));
    // ("ab","c") and ("a","bc") are different keys.
    ColumnValue ab{ColumnKind::Text, "ab"}, c{ColumnKind::Text, "c"}, a{ColumnKind::Text, "a"},
        bc{ColumnKind::Text, "bc"};
    std::vector<const ColumnValue*> k1{&ab, &c}, k2{&a, &bc};
    EXPECT_NE(apply_key_hash(3, k1), apply_key_hash(3, k2));
    EXPECT_NE(apply_key_hash(3, k1), 0u);
}

TEST(DependencyTracker, IndependentTransactionsWaitForNothing) {
    DependencyTracker t;
    EXPECT_EQ(t.admit(keys_of({{10, "1"}})).wait_for, 0u);
    EXPECT_EQ(t.admit(keys_of({{10, "2"}})).wait_for, 0u);
    EXPECT_EQ(t.admit(keys_of({{11, "1"}})).wait_for, 0u);  // same value, other space
    EXPECT_EQ(t.last_admitted(), 3u);
}

TEST(DependencyTracker, SharedKeyWaitsForTheLatestWriter) {
    DependencyTracker t;
    Admission a1 = t.admit(keys_of({{10, "1"}}));
    Admission a2 = t.admit(keys_of({{10, "2"}}));
    Admission a3 = t.admit(keys_of({{10, "1"}, {10, "2"}}));
    Admission a4 = t.admit(keys_of({{10, "1"}}));
    EXPECT_EQ(a1.seq, 1u);
    EXPECT_EQ(a3.wait_for, 2u);  // the latest of 1 and 2
    EXPECT_EQ(a4.wait_for, 3u);  // a chain: 1 -> 3 -> 4
    (void)a2;
}

TEST(DependencyTracker, CommittedDependenciesAreDropped) {
    DependencyTracker t;
    t.admit(keys_of({{10, "1"}}));
    t.admit(keys_of({{10, "2"}}));
    t.committed(1);
    EXPECT_EQ(t.admit(keys_of({{10, "1"}})).wait_for, 0u);
    EXPECT_EQ(t.admit(keys_of({{10, "2"}})).wait_for, 2u);
    t.committed(1);  // repeated, ignored
    t.committed(9);  // never admitted, ignored
    EXPECT_EQ(t.last_committed(), 1u);
}

TEST(DependencyTracker, OwnKeysInOneBucketAreNoDependency) {
    DependencyTracker t(1, 1);  // one bucket: every key collides
    TxnKeys k = keys_of({{10, "1"}, {10, "2"}, {11, "3"}});
    k.add_space(12);
    EXPECT_EQ(t.admit(k).wait_for, 0u);
    EXPECT_EQ(t.admit(keys_of({{99, "x"}})).wait_for, 1u);  // false dependency, never a miss
}

TEST(DependencyTracker, BarrierWaitsForAllAndAllWaitForIt) {
    DependencyTracker t;
    t.admit(keys_of({{10, "1"}}));
    t.admit(keys_of({{10, "2"}}));
    TxnKeys b;
    b.set_barrier();
    Admission ab = t.admit(b);
    EXPECT_EQ(ab.wait_for, 2u);
    EXPECT_EQ(t.admit(keys_of({{20, "unrelated"}})).wait_for, 3u);
    EXPECT_EQ(t.admit(keys_of({{21, "other"}})).wait_for, 3u);
    t.committed(3);
    EXPECT_EQ(t.admit(keys_of({{22, "x"}})).wait_for, 0u);
    // A barrier right after committed work waits for nothing.
    t.committed(6);
    EXPECT_EQ(t.admit(b).wait_for, 0u);
}

TEST(DependencyTracker, WholeSpaceKeysMeetEveryValueOfTheSpace) {
    DependencyTracker t;
    t.admit(keys_of({{10, "1"}}));  // 1
    t.admit(keys_of({{11, "1"}}));  // 2
    TxnKeys all;
    all.add_space(10);
    EXPECT_EQ(t.admit(all).wait_for, 1u);                   // 3 waits for the space's last
    EXPECT_EQ(t.admit(keys_of({{10, "7"}})).wait_for, 3u);  // 4: any value waits for it
    EXPECT_EQ(t.admit(keys_of({{11, "7"}})).wait_for, 0u);  // 5: other space is free
    EXPECT_EQ(t.admit(all).wait_for, 4u);                   // 6
}

TEST(TxnKeys, OverflowBecomesBarrier) {
    TxnKeys k(3);
    k.add(1, 1);
    k.add(1, 2);
    k.add(1, 3);
    EXPECT_FALSE(k.barrier());
    k.add(1, 4);
    EXPECT_TRUE(k.barrier());
    EXPECT_TRUE(k.overflowed());
    EXPECT_TRUE(k.keys().empty());
    k.clear();
    EXPECT_FALSE(k.barrier());
    EXPECT_FALSE(k.overflowed());
}

// Against an exact model with unbounded memory: a small table that wraps around many times
// never reports less than the true dependency, and its memory does not grow.
TEST(DependencyTracker, WrappedTableNeverMissesADependency) {
    for (std::size_t buckets : {1u, 4u, 64u, 4096u}) {
        DependencyTracker t(buckets, 4);
        const std::size_t mem = t.memory_bytes();
        std::map<std::pair<KeySpace, std::string>, ApplySeq> last;
        std::mt19937 rng(static_cast<unsigned>(buckets));
        ApplySeq committed = 0;
        std::size_t exact_hits = 0;
        for (int i = 0; i < 20000; ++i) {
            TxnKeys k;
            std::set<std::pair<KeySpace, std::string>> mine;
            const int n = 1 + static_cast<int>(rng() % 4);
            for (int j = 0; j < n; ++j) {
                KeySpace s = 100 + rng() % 3;
                std::string v = std::to_string(rng() % 5000);
                k.add(s, h(s, v));
                mine.insert({s, v});
            }
            ApplySeq want = 0;
            for (const auto& key : mine)
                if (auto it = last.find(key); it != last.end() && it->second > committed)
                    want = std::max(want, it->second);
            Admission a = t.admit(k);
            ASSERT_GE(a.wait_for, want) << "buckets " << buckets << " txn " << a.seq;
            ASSERT_LT(a.wait_for, a.seq);
            exact_hits += a.wait_for == want;
            for (const auto& key : mine)
                last[key] = a.seq;
            if (rng() % 3 == 0) {  // commits lag behind by a few transactions
                committed = a.seq > 8 ? a.seq - 8 : 0;
                t.committed(committed);
            }
        }
        EXPECT_EQ(t.memory_bytes(), mem);
        if (buckets >= 4096) {
            EXPECT_GT(exact_hits, 19000u);  // a roomy table is almost always exact
        }
    }
}

TEST(DependencyTracker, ResetForgetsTransactionsInFlight) {
    DependencyTracker t;
    t.admit(keys_of({{10, "1"}}));
    TxnKeys b;
    b.set_barrier();
    t.admit(b);
    t.reset();
    Admission a = t.admit(keys_of({{10, "1"}}));
    EXPECT_EQ(a.seq, 3u);
    EXPECT_EQ(a.wait_for, 0u);
}

// ----- keys of protocol messages -------------------------------------------------------------

ColumnValue txt(const std::string& s) {
    return {ColumnKind::Text, s};
}
ColumnValue null() {
    return {ColumnKind::Null, ""};
}
ColumnValue unchanged() {
    return {ColumnKind::Unchanged, ""};
}

// Remote columns (id, email, parent_id, note): identity id; unique email; parent_id references
// the parent's primary key index 500.
RelationKeys child_rel() {
    RelationKeys r;
    r.keyable = true;
    r.identity = {true, false, false, false};
    r.specs = {{KeySpecKind::Identity, 400, {0}},
               {KeySpecKind::Unique, 401, {1}},
               {KeySpecKind::Reference, 500, {2}}};
    return r;
}
RelationKeys parent_rel() {
    RelationKeys r;
    r.keyable = true;
    r.identity = {true, false};
    r.specs = {{KeySpecKind::Identity, 500, {0}}};
    return r;
}

TupleData row(std::vector<ColumnValue> cols) {
    return TupleData{std::move(cols)};
}

std::set<std::pair<KeySpace, std::uint64_t>> key_set(const TxnKeys& k) {
    std::set<std::pair<KeySpace, std::uint64_t>> out;
    for (const ApplyKey& a : k.keys())
        out.insert({a.space, a.hash});
    return out;
}

TEST(ApplyKeys, InsertAddsEveryKeyAndTheParentReference) {
    RelationKeys rel = child_rel();
    TxnKeys k;
    add_message_keys(Insert{1, row({txt("1"), txt("a@x"), txt("7"), txt("n")})}, &rel, k);
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{
                              {400, h(400, "1")}, {401, h(401, "a@x")}, {500, h(500, "7")}}));
    // The parent's insert of key 7 meets the child's reference.
    RelationKeys prel = parent_rel();
    TxnKeys pk;
    add_message_keys(Insert{2, row({txt("7"), txt("p")})}, &prel, pk);
    EXPECT_EQ(key_set(pk), (std::set<std::pair<KeySpace, std::uint64_t>>{{500, h(500, "7")}}));
}

// A reference whose column types differ from the parent's is given no columns by the glue:
// every change adds the parent's whole space, so it meets every parent key.
TEST(ApplyKeys, SpecWithoutColumnsAlwaysAddsTheWholeSpace) {
    RelationKeys rel = child_rel();
    rel.specs[2].columns.clear();
    TxnKeys k;
    add_message_keys(Insert{1, row({txt("1"), txt("a@x"), txt("7"), txt("n")})}, &rel, k);
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{
                              {400, h(400, "1")}, {401, h(401, "a@x")}, {500, 0}}));
    TxnKeys d;
    add_message_keys(
        Delete{1, OldTuple{OldTupleKind::Key, row({txt("1"), null(), null(), null()})}}, &rel, d);
    EXPECT_TRUE(key_set(d).count({500, 0}));
    // Even a NULL reference: the glue could not say which values it stands for.
    TxnKeys n;
    add_message_keys(Insert{1, row({txt("2"), null(), null(), txt("n")})}, &rel, n);
    EXPECT_TRUE(key_set(n).count({500, 0}));
    DependencyTracker t;
    TxnKeys parent;
    parent.add(500, h(500, "9"));
    Admission a = t.admit(parent);
    EXPECT_EQ(t.admit(k).wait_for, a.seq);
}

TEST(ApplyKeys, NullValuesAddNoKey) {
    RelationKeys rel = child_rel();
    TxnKeys k;
    add_message_keys(Insert{1, row({txt("1"), null(), null(), txt("n")})}, &rel, k);
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{{400, h(400, "1")}}));
}

TEST(ApplyKeys, UpdateWithoutOldTupleHasUnknownOldUniqueValues) {
    RelationKeys rel = child_rel();
    TxnKeys k;
    add_message_keys(Update{1, std::nullopt, row({txt("1"), txt("b@x"), txt("8"), unchanged()})},
                     &rel, k);
    // identity from the new row; email and reference: old values unknown -> whole spaces,
    // plus the new values.
    EXPECT_EQ(
        key_set(k),
        (std::set<std::pair<KeySpace, std::uint64_t>>{
            {400, h(400, "1")}, {401, 0}, {401, h(401, "b@x")}, {500, 0}, {500, h(500, "8")}}));
}

TEST(ApplyKeys, UpdateWithFullOldTupleKnowsOldValues) {
    RelationKeys rel = child_rel();
    rel.old_tuple_full = true;
    TxnKeys k;
    add_message_keys(
        Update{1, OldTuple{OldTupleKind::Key, row({txt("1"), txt("a@x"), txt("7"), txt("n")})},
               row({txt("2"), txt("b@x"), txt("7"), txt("n")})},
        &rel, k);
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{{400, h(400, "1")},
                                                                        {400, h(400, "2")},
                                                                        {401, h(401, "a@x")},
                                                                        {401, h(401, "b@x")},
                                                                        {500, h(500, "7")}}));
}

TEST(ApplyKeys, UniqueKeyOfIdentityColumnsIsKnownFromTheKeyTuple) {
    RelationKeys rel;
    rel.keyable = true;
    rel.identity = {true, true, false};
    rel.specs = {{KeySpecKind::Identity, 10, {0, 1}}, {KeySpecKind::Unique, 11, {1}}};
    TxnKeys k;
    add_message_keys(Delete{1, OldTuple{OldTupleKind::Key, row({txt("1"), txt("2"), null()})}},
                     &rel, k);
    ColumnValue a = txt("1"), b = txt("2");
    std::vector<const ColumnValue*> ab{&a, &b};
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{
                              {10, apply_key_hash(10, ab)}, {11, h(11, "2")}}));
}

TEST(ApplyKeys, DeleteWithKeyTupleAddsWholeSpacesOfOtherKeys) {
    RelationKeys rel = child_rel();
    TxnKeys k;
    add_message_keys(
        Delete{1, OldTuple{OldTupleKind::Key, row({txt("1"), null(), null(), null()})}}, &rel, k);
    EXPECT_EQ(key_set(k), (std::set<std::pair<KeySpace, std::uint64_t>>{
                              {400, h(400, "1")}, {401, 0}, {500, 0}}));
}

TEST(ApplyKeys, UnkeyableChangesAreBarriers) {
    RelationKeys nokey;
    nokey.keyable = false;
    TxnKeys k1, k2, k3, k4, k5;
    add_message_keys(Insert{1, row({txt("1")})}, &nokey, k1);
    add_message_keys(Insert{1, row({txt("1")})}, nullptr, k2);
    add_message_keys(Truncate{{1, 2}, false, false}, nullptr, k3);
    add_message_keys(LogicalMessage{0, Lsn{}, true, "Spock", "x"}, nullptr, k4);
    add_message_keys(Begin{}, nullptr, k5);
    add_message_keys(Commit{}, nullptr, k5);
    EXPECT_TRUE(k1.barrier());
    EXPECT_TRUE(k2.barrier());
    EXPECT_TRUE(k3.barrier());
    EXPECT_TRUE(k4.barrier());
    EXPECT_FALSE(k5.barrier());
    EXPECT_TRUE(k5.keys().empty());
}

// pgbench_history: no key at all. Its inserts commute with each other and add nothing; an
// update or delete of it (REPLICA IDENTITY FULL) is a barrier, so it waits for every insert
// before it and every insert after it waits for it.
TEST(ApplyKeys, InsertsIntoAKeylessTableCommuteUpdatesAndDeletesAreBarriers) {
    RelationKeys hist;
    hist.keyable = false;
    hist.inserts_commute = true;
    hist.identity = {true, true};
    hist.old_tuple_full = true;
    TxnKeys ins, upd, del;
    add_message_keys(Insert{3, row({txt("1"), txt("x")})}, &hist, ins);
    EXPECT_FALSE(ins.barrier());
    EXPECT_TRUE(ins.keys().empty());
    add_message_keys(Update{3, OldTuple{OldTupleKind::Old, row({txt("1"), txt("x")})},
                            row({txt("1"), txt("y")})},
                     &hist, upd);
    EXPECT_TRUE(upd.barrier());
    add_message_keys(Delete{3, OldTuple{OldTupleKind::Old, row({txt("1"), txt("y")})}}, &hist, del);
    EXPECT_TRUE(del.barrier());

    // A keyless table without the flag (partitioned, say, or unknown) keeps inserts barriers.
    RelationKeys unknown;
    TxnKeys k;
    add_message_keys(Insert{3, row({txt("1"), txt("x")})}, &unknown, k);
    EXPECT_TRUE(k.barrier());

    // In the tracker: TPC-B-like transactions on different accounts that all insert into the
    // history table are independent; a delete of history waits for the last insert and the
    // next insert waits for the delete.
    RelationKeys acc;
    acc.keyable = true;
    acc.identity = {true, false};
    acc.specs = {{KeySpecKind::Identity, 20, {0}}};
    DependencyTracker t;
    auto tpcb = [&](const char* aid) {
        TxnKeys x;
        add_message_keys(Update{2, std::nullopt, row({txt(aid), txt("5")})}, &acc, x);
        add_message_keys(Insert{3, row({txt(aid), txt("5")})}, &hist, x);
        return t.admit(x);
    };
    Admission a1 = tpcb("1");
    Admission a2 = tpcb("2");
    Admission a3 = tpcb("3");
    EXPECT_EQ(a1.wait_for, 0u);
    EXPECT_EQ(a2.wait_for, 0u);
    EXPECT_EQ(a3.wait_for, 0u);
    Admission same = tpcb("2");
    EXPECT_EQ(same.wait_for, a2.seq);  // the account's key still orders
    TxnKeys d;
    add_message_keys(Delete{3, OldTuple{OldTupleKind::Old, row({txt("1"), txt("x")})}}, &hist, d);
    Admission bar = t.admit(d);
    EXPECT_EQ(bar.wait_for, same.seq);  // every insert before it
    Admission after = tpcb("9");
    EXPECT_EQ(after.wait_for, bar.seq);
}

// The workload of the TAP test in miniature: unique-key swap, delete and re-insert of a key,
// parent then child.
TEST(ApplyKeys, TrackerOrdersSwapsReinsertsAndParentChild) {
    RelationKeys child = child_rel();
    RelationKeys parent = parent_rel();
    DependencyTracker t;
    auto admit = [&](std::vector<std::pair<ProtocolMessage, const RelationKeys*>> msgs) {
        TxnKeys k;
        for (auto& [m, r] : msgs)
            add_message_keys(m, r, k);
        return t.admit(k);
    };
    Admission p = admit({{Insert{2, row({txt("7"), txt("p")})}, &parent}});
    Admission c = admit({{Insert{1, row({txt("1"), txt("a"), txt("7"), txt("n")})}, &child}});
    EXPECT_EQ(c.wait_for, p.seq);
    Admission d =
        admit({{Delete{1, OldTuple{OldTupleKind::Key, row({txt("1"), null(), null(), null()})}},
                &child}});
    EXPECT_EQ(d.wait_for, c.seq);
    Admission r = admit({{Insert{1, row({txt("1"), txt("a"), txt("7"), txt("n")})}, &child}});
    EXPECT_EQ(r.wait_for, d.seq);
    // Another parent row: the child's delete did not say which parent it referenced, so the
    // whole reference space waits for the delete (conservative), not for the re-insert.
    Admission q = admit({{Insert{2, row({txt("8"), txt("q")})}, &parent}});
    EXPECT_EQ(q.wait_for, d.seq);
    // The delete's unknown email holds back every other email until it committed; then a new
    // child row referencing nothing waits for nobody.
    Admission s1 = admit({{Insert{1, row({txt("2"), txt("b"), null(), txt("n")})}, &child}});
    EXPECT_EQ(s1.wait_for, d.seq);
    t.committed(r.seq);
    Admission s2 = admit({{Insert{1, row({txt("3"), txt("c"), null(), txt("n")})}, &child}});
    EXPECT_EQ(s2.wait_for, 0u);
}

}  // namespace
