// The record of deleted keys and the update-versus-delete decisions (docs/conflicts.md).
#include "spock/core/deleted_keys.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace spock::core;

std::span<const std::byte> bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

DeletedKeyId key(std::uint32_t rel, const std::string& k, std::uint32_t db = 5) {
    return DeletedKeyId{deleted_key_hash(db, rel, bytes(k)), db, rel};
}

DeletedKey del(std::int64_t t, std::int64_t at, std::uint32_t node = 1, std::uint32_t xid = 100) {
    DeletedKey d;
    d.xid = xid;
    d.node = node;
    d.commit_time = TimestampUs{t};
    d.recorded_at = at;
    return d;
}

struct Table {
    std::vector<std::uint64_t> mem;
    DeletedKeyTable* t;
    explicit Table(std::uint32_t cap)
        : mem(DeletedKeyTable::size_for(cap) / 8 + 1),
          t(DeletedKeyTable::create(mem.data(), cap)) {}
};

constexpr std::int64_t kRetention = 1'000'000;

TEST(DeletedKeyHash, DependsOnEveryPart) {
    std::set<std::uint64_t> seen;
    seen.insert(deleted_key_hash(1, 2, bytes("abc")));
    seen.insert(deleted_key_hash(1, 3, bytes("abc")));
    seen.insert(deleted_key_hash(2, 2, bytes("abc")));
    seen.insert(deleted_key_hash(1, 2, bytes("abd")));
    seen.insert(deleted_key_hash(1, 2, bytes(std::string("abc\0", 4))));
    seen.insert(deleted_key_hash(1, 2, bytes("")));
    EXPECT_EQ(seen.size(), 6u);
    EXPECT_EQ(deleted_key_hash(1, 2, bytes("abc")), deleted_key_hash(1, 2, bytes("abc")));
}

TEST(DeletedKeyHash, NoCollisionsAmongManyKeys) {
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 200000; i++) {
        std::uint32_t v = static_cast<std::uint32_t>(i);
        std::string k(reinterpret_cast<const char*>(&v), 4);
        seen.insert(deleted_key_hash(7, 16384, bytes(k)));
    }
    EXPECT_EQ(seen.size(), 200000u);
}

TEST(DeletedKeyTable, RecordsAndFinds) {
    Table tab(16);
    DeletedKey out;
    EXPECT_FALSE(tab.t->may_have(5, 10));
    EXPECT_FALSE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    tab.t->record(key(10, "a"), del(50, 0), 0, kRetention);
    EXPECT_TRUE(tab.t->may_have(5, 10));
    ASSERT_TRUE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 50);
    EXPECT_FALSE(tab.t->find(key(10, "b"), 0, kRetention, &out));
    EXPECT_FALSE(tab.t->find(key(11, "a"), 0, kRetention, &out));
    EXPECT_FALSE(tab.t->find(key(10, "a", 6), 0, kRetention, &out));
    EXPECT_EQ(tab.t->size(), 1u);
}

TEST(DeletedKeyTable, NewestDeleteWins) {
    Table tab(16);
    DeletedKey out;
    tab.t->record(key(10, "a"), del(50, 0, 1), 0, kRetention);
    tab.t->record(key(10, "a"), del(40, 1, 2), 1, kRetention);  // older: ignored
    ASSERT_TRUE(tab.t->find(key(10, "a"), 2, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 50);
    EXPECT_EQ(out.node, 1u);
    tab.t->record(key(10, "a"), del(60, 2, 3), 2, kRetention);
    ASSERT_TRUE(tab.t->find(key(10, "a"), 2, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 60);
    // A local delete (commit time not known yet) replaces whatever is there.
    tab.t->record(key(10, "a"), del(0, 3, 0, 777), 3, kRetention);
    ASSERT_TRUE(tab.t->find(key(10, "a"), 3, kRetention, &out));
    EXPECT_EQ(out.xid, 777u);
    EXPECT_EQ(out.commit_time.value, 0);
    EXPECT_EQ(tab.t->size(), 1u);
}

TEST(DeletedKeyTable, SettleAndForgetOnlyTouchTheirXid) {
    Table tab(16);
    DeletedKey out;
    tab.t->record(key(10, "a"), del(0, 0, 0, 777), 0, kRetention);
    tab.t->settle(key(10, "a"), 778, TimestampUs{9});
    ASSERT_TRUE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 0);
    tab.t->settle(key(10, "a"), 777, TimestampUs{9});
    ASSERT_TRUE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 9);
    tab.t->forget(key(10, "a"), 778);
    EXPECT_TRUE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    tab.t->forget(key(10, "a"), 777);
    EXPECT_FALSE(tab.t->find(key(10, "a"), 0, kRetention, &out));
    EXPECT_EQ(tab.t->size(), 0u);
    EXPECT_FALSE(tab.t->may_have(5, 10));
}

TEST(DeletedKeyTable, BoundedOldestRecordEvictedFirst) {
    Table tab(100);
    for (int i = 0; i < 1000; i++) {
        tab.t->record(key(10, std::to_string(i)), del(i + 1, i), i, kRetention);
        ASSERT_LE(tab.t->size(), 100u);
    }
    EXPECT_EQ(tab.t->size(), 100u);
    DeletedKey out;
    for (int i = 0; i < 900; i++) {
        EXPECT_FALSE(tab.t->find(key(10, std::to_string(i)), 1000, kRetention, &out)) << i;
    }
    for (int i = 900; i < 1000; i++) {
        ASSERT_TRUE(tab.t->find(key(10, std::to_string(i)), 1000, kRetention, &out)) << i;
        EXPECT_EQ(out.commit_time.value, i + 1);
    }
}

TEST(DeletedKeyTable, RerecordedKeySurvivesEviction) {
    Table tab(4);
    DeletedKey out;
    tab.t->record(key(10, "hot"), del(1, 0), 0, kRetention);
    for (int i = 0; i < 50; i++) {
        tab.t->record(key(10, "cold" + std::to_string(i)), del(10 + i, 1 + i), 1 + i, kRetention);
        tab.t->record(key(10, "hot"), del(100 + i, 1 + i), 1 + i, kRetention);
        ASSERT_TRUE(tab.t->find(key(10, "hot"), 1 + i, kRetention, &out));
        EXPECT_EQ(out.commit_time.value, 100 + i);
        ASSERT_LE(tab.t->size(), 4u);
    }
}

TEST(DeletedKeyTable, RetentionByAge) {
    Table tab(16);
    DeletedKey out;
    tab.t->record(key(10, "a"), del(5, 1000), 1000, kRetention);
    EXPECT_TRUE(tab.t->find(key(10, "a"), 1000 + kRetention, kRetention, &out));
    EXPECT_FALSE(tab.t->find(key(10, "a"), 1001 + kRetention, kRetention, &out));
    // An expired entry does not stop an older delete from being recorded.
    tab.t->record(key(10, "a"), del(4, 2000 + kRetention), 2000 + kRetention, kRetention);
    ASSERT_TRUE(tab.t->find(key(10, "a"), 2000 + kRetention, kRetention, &out));
    EXPECT_EQ(out.commit_time.value, 4);
    tab.t->purge(3001 + 2 * kRetention, kRetention);
    EXPECT_EQ(tab.t->size(), 0u);
    EXPECT_FALSE(tab.t->may_have(5, 10));
}

// Many keys in a small table hammer the probing and the backward-shift deletion: the table
// must always agree with a model of the last `capacity` distinct records.
TEST(DeletedKeyTable, AgreesWithModelUnderChurn) {
    const std::uint32_t cap = 64;
    Table tab(cap);
    std::vector<int> order;  // keys by latest record, oldest first
    std::uint64_t x = 12345;
    for (int step = 0; step < 20000; step++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        int k = static_cast<int>((x >> 33) % 200);
        tab.t->record(key(10, std::to_string(k)), del(step + 1, step, 1, k), step, 1LL << 40);
        std::erase(order, k);
        order.push_back(k);
        ASSERT_LE(tab.t->size(), cap);
    }
    DeletedKey out;
    std::set<int> live;
    for (int k = 0; k < 200; k++) {
        if (tab.t->find(key(10, std::to_string(k)), 20000, 1LL << 40, &out)) {
            live.insert(k);
            EXPECT_EQ(out.xid, static_cast<std::uint32_t>(k));
        }
    }
    // Every live key is among the most recent `cap` distinct records; the most recent ones
    // (re-records take ring places too, so fewer than cap) are all there.
    std::set<int> recent(order.end() - cap, order.end());
    for (int k : live) {
        EXPECT_TRUE(recent.count(k)) << k;
    }
    for (auto it = order.end() - 10; it != order.end(); ++it) {
        EXPECT_TRUE(live.count(*it)) << *it;
    }
    std::size_t n = 0;
    tab.t->for_each([&](const DeletedKeyId&, const DeletedKey&) { n++; });
    EXPECT_EQ(n, tab.t->size());
}

TEST(DeleteOrder, ComparesTimeThenNode) {
    EXPECT_EQ(order_delete({TimestampUs{2}, 1}, {TimestampUs{1}, 2}), DeleteOrder::DeleteLater);
    EXPECT_EQ(order_delete({TimestampUs{1}, 1}, {TimestampUs{2}, 2}), DeleteOrder::DeleteEarlier);
    EXPECT_EQ(order_delete({TimestampUs{1}, 1}, {TimestampUs{1}, 1}), DeleteOrder::DeleteEarlier);
    EXPECT_EQ(order_delete({TimestampUs{1}, 1}, {TimestampUs{1}, 2}), DeleteOrder::NeedTiebreak);
    EXPECT_EQ(order_from_tiebreak(1, 2), DeleteOrder::DeleteLater);
    EXPECT_EQ(order_from_tiebreak(2, 1), DeleteOrder::DeleteEarlier);
    EXPECT_EQ(order_from_tiebreak(2, 2), DeleteOrder::DeleteEarlier);
}

TEST(UpdateMissing, LastUpdateWins) {
    auto p = ConflictPolicy::LastUpdateWins;
    auto d = decide_update_missing(p, true, DeleteOrder::DeleteLater, true);
    EXPECT_EQ(d.type, ConflictType::UpdateDeleted);
    EXPECT_EQ(d.action, MissingRowAction::Skip);
    d = decide_update_missing(p, true, DeleteOrder::DeleteEarlier, true);
    EXPECT_EQ(d.type, ConflictType::UpdateMissing);
    EXPECT_EQ(d.action, MissingRowAction::Insert);
    d = decide_update_missing(p, false, DeleteOrder::DeleteLater, true);
    EXPECT_EQ(d.type, ConflictType::UpdateMissing);
    EXPECT_EQ(d.action, MissingRowAction::Insert);
    d = decide_update_missing(p, false, DeleteOrder::DeleteLater, false);
    EXPECT_EQ(d.action, MissingRowAction::Skip);
}

TEST(UpdateMissing, FirstUpdateWinsMirrors) {
    auto p = ConflictPolicy::FirstUpdateWins;
    auto d = decide_update_missing(p, true, DeleteOrder::DeleteLater, true);
    EXPECT_EQ(d.type, ConflictType::UpdateDeleted);
    EXPECT_EQ(d.action, MissingRowAction::Insert);
    d = decide_update_missing(p, true, DeleteOrder::DeleteEarlier, true);
    EXPECT_EQ(d.action, MissingRowAction::Skip);
    d = decide_update_missing(p, false, DeleteOrder::DeleteEarlier, true);
    EXPECT_EQ(d.action, MissingRowAction::Insert);
    d = decide_update_missing(p, true, DeleteOrder::DeleteLater, false);
    EXPECT_EQ(d.action, MissingRowAction::Skip);
}

TEST(UpdateMissing, FixedPolicies) {
    EXPECT_EQ(
        decide_update_missing(ConflictPolicy::KeepLocal, false, DeleteOrder::DeleteLater, true)
            .action,
        MissingRowAction::KeepLocal);
    EXPECT_EQ(
        decide_update_missing(ConflictPolicy::ApplyRemote, true, DeleteOrder::DeleteLater, true)
            .action,
        MissingRowAction::Insert);
    EXPECT_EQ(
        decide_update_missing(ConflictPolicy::ApplyRemote, true, DeleteOrder::DeleteLater, false)
            .action,
        MissingRowAction::Skip);
    auto e = decide_update_missing(ConflictPolicy::Error, true, DeleteOrder::DeleteLater, true);
    EXPECT_EQ(e.action, MissingRowAction::Error);
    EXPECT_EQ(e.type, ConflictType::UpdateDeleted);
}

TEST(InsertMissing, LaterDeleteBeatsInsert) {
    for (auto p : {ConflictPolicy::LastUpdateWins, ConflictPolicy::FirstUpdateWins}) {
        auto d = decide_insert_missing(p, true, DeleteOrder::DeleteLater);
        EXPECT_TRUE(d.conflict);
        EXPECT_EQ(d.action, MissingRowAction::Skip);
        d = decide_insert_missing(p, true, DeleteOrder::DeleteEarlier);
        EXPECT_FALSE(d.conflict);
        EXPECT_EQ(d.action, MissingRowAction::Insert);
        d = decide_insert_missing(p, false, DeleteOrder::DeleteLater);
        EXPECT_FALSE(d.conflict);
    }
    EXPECT_EQ(
        decide_insert_missing(ConflictPolicy::ApplyRemote, true, DeleteOrder::DeleteLater).action,
        MissingRowAction::Insert);
    EXPECT_EQ(
        decide_insert_missing(ConflictPolicy::KeepLocal, true, DeleteOrder::DeleteLater).action,
        MissingRowAction::KeepLocal);
    EXPECT_EQ(decide_insert_missing(ConflictPolicy::Error, true, DeleteOrder::DeleteLater).action,
              MissingRowAction::Error);
    EXPECT_FALSE(
        decide_insert_missing(ConflictPolicy::Error, true, DeleteOrder::DeleteEarlier).conflict);
}

TEST(DeleteFound, NewerLocalRowIsDeleteExists) {
    LocalRowState l;
    l.commit_time = TimestampUs{10};
    EXPECT_EQ(classify_delete_found(l, TimestampUs{5}), ConflictType::DeleteExists);
    EXPECT_EQ(classify_delete_found(l, TimestampUs{10}), ConflictType::DeleteOriginDiffers);
    EXPECT_EQ(classify_delete_found(l, TimestampUs{15}), ConflictType::DeleteOriginDiffers);
    l.frozen_or_unknown = true;
    EXPECT_EQ(classify_delete_found(l, TimestampUs{5}), ConflictType::DeleteOriginDiffers);
    // Last update wins keeps the newer local row; first update wins lets the older delete win.
    l.frozen_or_unknown = false;
    EXPECT_EQ(resolve_conflict(ConflictPolicy::LastUpdateWins, l, TimestampUs{5}),
              ConflictWinner::Local);
    EXPECT_EQ(resolve_conflict(ConflictPolicy::FirstUpdateWins, l, TimestampUs{5}),
              ConflictWinner::Remote);
}

}  // namespace
