// Parallel apply's pending hand-over: which transactions join a batch, when it goes out.
#include "spock/core/apply_batch.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace spock::core;

Admission adm(ApplySeq seq, ApplySeq wait_for = 0) {
    return Admission{seq, wait_for};
}

TEST(PendingBatch, IndependentTransactionGoesStraightToAnIdleProcess) {
    PendingBatch b;
    EXPECT_FALSE(b.joins(adm(5), 100, /*idle*/ true, /*committed*/ 4));
    EXPECT_FALSE(b.joins(adm(5, 3), 100, true, 4));  // what it waits for has committed
}

TEST(PendingBatch, JoinsWhenEveryProcessIsBusy) {
    PendingBatch b;
    EXPECT_TRUE(b.joins(adm(5), 100, /*idle*/ false, 4));
    ASSERT_TRUE(b.add(adm(5), 100));
    EXPECT_EQ(b.first(), 5u);
    EXPECT_EQ(b.last(), 5u);
    // Once started, every later one joins, idle process or not: the hand-out stays in order.
    EXPECT_TRUE(b.joins(adm(6), 100, true, 4));
    ASSERT_TRUE(b.add(adm(6), 100));
    EXPECT_EQ(b.last(), 6u);
    EXPECT_EQ(b.count(), 2u);
    EXPECT_EQ(b.bytes(), 200u);
    // Two transactions, one idle process: it waits for the other process rather than hand
    // a run of consecutive transactions to one; with two idle (or all idle) it goes, striped.
    EXPECT_FALSE(b.ready(0, false, 4, false));
    EXPECT_FALSE(b.ready(1, false, 4, false));
    EXPECT_TRUE(b.ready(2, false, 4, false));
    EXPECT_TRUE(b.ready(1, true, 4, false));
    EXPECT_EQ(b.stripes(2), 2u);
    EXPECT_EQ(b.stripes(4), 2u);  // no more stripes than transactions
}

TEST(PendingBatch, WaitsWhileItsFirstWouldOnlyWait) {
    PendingBatch b;
    // Transaction 9 depends on 8, which a process is still applying: handing it to the idle
    // process gains nothing.
    EXPECT_TRUE(b.joins(adm(9, 8), 100, /*idle*/ true, /*committed*/ 7));
    ASSERT_TRUE(b.add(adm(9, 8), 100));
    EXPECT_EQ(b.first_wait_for(), 8u);
    EXPECT_FALSE(b.ready(1, false, 7, false));
    EXPECT_TRUE(b.ready(1, false, 7, /*force*/ true));  // the leader needs all processes idle
    EXPECT_TRUE(b.ready(1, false, 8, false));           // 8 committed
}

TEST(PendingBatch, LimitsSendAFullBatch) {
    PendingBatch b(BatchLimits{3, 1000});
    ASSERT_TRUE(b.add(adm(1, 0), 10));
    ASSERT_TRUE(b.add(adm(2, 1), 10));
    ASSERT_TRUE(b.add(adm(3, 2), 10));
    EXPECT_TRUE(b.full());
    EXPECT_FALSE(b.joins(adm(4), 10, false, 0));  // over the count
    EXPECT_FALSE(b.add(adm(4), 10));
    // Full, but one of two processes busy: it waits until both are idle, so the run of three
    // is striped over them rather than handed to one.
    EXPECT_FALSE(b.ready(1, false, 0, false));
    EXPECT_TRUE(b.ready(2, true, 0, false));
    b.clear();
    EXPECT_TRUE(b.empty());

    PendingBatch c(BatchLimits{100, 250});
    ASSERT_TRUE(c.add(adm(1), 200));
    EXPECT_FALSE(c.joins(adm(2), 100, false, 0));  // over the bytes
    EXPECT_TRUE(c.joins(adm(2), 50, false, 0));
}

TEST(PendingBatch, AOneTransactionBatchMayBeLarge) {
    PendingBatch b(BatchLimits{4, 100});
    EXPECT_TRUE(b.add(adm(1), 5000));  // the leader bounds one transaction's size itself
    EXPECT_TRUE(b.full());
}

TEST(PendingBatch, StaysConsecutive) {
    PendingBatch b;
    ASSERT_TRUE(b.add(adm(10), 1));
    EXPECT_FALSE(b.add(adm(12), 1));  // a gap: refused
    EXPECT_FALSE(b.add(adm(0), 1));
    ASSERT_TRUE(b.add(adm(11), 1));
    EXPECT_EQ(b.last(), 11u);
    EXPECT_FALSE(b.ready(0, false, 100, true));  // no idle process: nowhere to go
    PendingBatch e;
    EXPECT_FALSE(e.ready(1, true, 0, true));  // nothing to send
}

// Striping: transaction i of the batch to stripe i % S, so consecutive transactions land in
// different processes and apply at the same time.
TEST(PendingBatch, StripesSpreadConsecutiveTransactions) {
    PendingBatch b;
    for (ApplySeq s = 1; s <= 7; ++s)
        ASSERT_TRUE(b.add(adm(s), 10));
    std::size_t n = b.stripes(2);
    ASSERT_EQ(n, 2u);
    std::vector<std::vector<ApplySeq>> got(n);
    for (std::size_t i = 0; i < b.count(); ++i)
        got[PendingBatch::stripe_of(i, n)].push_back(b.first() + i);
    EXPECT_EQ(got[0], (std::vector<ApplySeq>{1, 3, 5, 7}));
    EXPECT_EQ(got[1], (std::vector<ApplySeq>{2, 4, 6}));
    EXPECT_EQ(b.stripes(0), 0u);
    EXPECT_EQ(PendingBatch::stripe_of(5, 0), 0u);
}

}  // namespace
