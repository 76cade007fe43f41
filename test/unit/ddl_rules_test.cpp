// replicate_ddl's statement rules and queued text; missing-column decisions; RELATION diffs.
#include "spock/core/ddl_rules.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace spock::core;

TEST(DdlRules, OneDdlStatementIsAccepted) {
    std::vector<ClassifiedStatement> s = {{StatementClass::Ddl, "CREATE TABLE"}};
    EXPECT_FALSE(check_ddl_statements(s).has_value());
}

TEST(DdlRules, EmptyCommandIsRejected) {
    auto e = check_ddl_statements({});
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate(), "22023");
    EXPECT_FALSE(e->detail().empty());
    EXPECT_FALSE(e->hint().empty());
}

TEST(DdlRules, SeveralStatementsAreRejectedWithTheirTags) {
    std::vector<ClassifiedStatement> s = {{StatementClass::Ddl, "CREATE TABLE"},
                                          {StatementClass::NotDdl, "INSERT"}};
    auto e = check_ddl_statements(s);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate(), "0A000");
    EXPECT_NE(e->detail().find("2 statements: CREATE TABLE, INSERT"), std::string::npos);
    EXPECT_NE(e->hint().find("ARRAY"), std::string::npos);
}

TEST(DdlRules, TransactionControlIsRejected) {
    std::vector<ClassifiedStatement> s = {{StatementClass::TransactionControl, "COMMIT"}};
    auto e = check_ddl_statements(s);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate(), "0A000");
    EXPECT_EQ(e->message(), "spock.replicate_ddl() cannot execute COMMIT statement");
}

TEST(DdlRules, NonTransactionalStatementIsRejected) {
    std::vector<ClassifiedStatement> s = {{StatementClass::NotInTransaction, "VACUUM"}};
    auto e = check_ddl_statements(s);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate(), "25001");
    EXPECT_NE(e->detail().find("VACUUM cannot run inside a transaction block"), std::string::npos);
}

TEST(DdlRules, DataChangeIsRejected) {
    std::vector<ClassifiedStatement> s = {{StatementClass::NotDdl, "INSERT"}};
    auto e = check_ddl_statements(s);
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->sqlstate(), "0A000");
    EXPECT_EQ(e->message(), "spock.replicate_ddl() cannot execute INSERT statement");
}

TEST(DdlRules, QueuedTextQuotesThePath) {
    std::vector<std::string> path = {"$user", "public", "My Schema"};
    EXPECT_EQ(queued_ddl_text(path, "CREATE TABLE t (id int)"),
              "SET search_path TO \"$user\", public, \"My Schema\"; CREATE TABLE t (id int)");
    EXPECT_EQ(queued_ddl_text({}, "DROP TABLE t"), "SET search_path TO ''; DROP TABLE t");
}

TEST(MissingColumn, NullIsIgnoredUnderEveryPolicy) {
    EXPECT_EQ(missing_column_action(true, MissingColumnPolicy::Ignore),
              MissingColumnAction::IgnoreNull);
    EXPECT_EQ(missing_column_action(true, MissingColumnPolicy::Error),
              MissingColumnAction::IgnoreNull);
}

TEST(MissingColumn, ValueIsDroppedWithALogOrFails) {
    EXPECT_EQ(missing_column_action(false, MissingColumnPolicy::Ignore),
              MissingColumnAction::DropValueLogged);
    EXPECT_EQ(missing_column_action(false, MissingColumnPolicy::Error), MissingColumnAction::Error);
}

TEST(ColumnDiff, AddedAndRemovedByName) {
    std::vector<std::string> before = {"id", "a", "b"};
    std::vector<std::string> after = {"id", "b", "c", "d"};
    ColumnDiff d = diff_columns(before, after);
    EXPECT_TRUE(d.changed());
    EXPECT_EQ(d.added, (std::vector<std::string>{"c", "d"}));
    EXPECT_EQ(d.removed, (std::vector<std::string>{"a"}));
    EXPECT_EQ(column_list_text(d.added), "c, d");
    EXPECT_EQ(column_list_text({}), "(none)");
    EXPECT_FALSE(diff_columns(before, before).changed());
}

}  // namespace
