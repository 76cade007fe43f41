#include "spock/core/auto_ddl.hpp"

#include <gtest/gtest.h>

using namespace spock::core;

namespace {

AutoDdlFacts ddl() {
    AutoDdlFacts f;
    f.cls = StatementClass::Ddl;
    f.enabled = true;
    return f;
}

}  // namespace

TEST(AutoDdl, QueuesPlainDdlAtTopLevel) {
    EXPECT_EQ(decide_auto_ddl(ddl()).action, AutoDdlAction::Queue);
}

TEST(AutoDdl, IgnoresWhatIsNotDdlOrWhenOff) {
    AutoDdlFacts f = ddl();
    f.enabled = false;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Ignore);
    f = ddl();
    f.cls = StatementClass::NotDdl;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Ignore);
    f.cls = StatementClass::TransactionControl;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Ignore);
}

TEST(AutoDdl, NeverCapturesAgain) {
    for (int i = 0; i < 5; i++) {
        AutoDdlFacts f = ddl();
        f.temporary = true;  // silence wins over the WARNING
        switch (i) {
            case 0:
                f.replicated_ddl = true;
                break;
            case 1:
                f.replication_process = true;
                break;
            case 2:
                f.context = DdlContext::Subcommand;
                break;
            case 3:
                f.in_extension_script = true;
                break;
            default:
                f.repair_mode = true;
                break;
        }
        EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Ignore) << i;
    }
}

TEST(AutoDdl, FunctionsOnlyWhenAllowed) {
    AutoDdlFacts f = ddl();
    f.context = DdlContext::Function;
    AutoDdlDecision d = decide_auto_ddl(f);
    EXPECT_EQ(d.action, AutoDdlAction::Skip);
    EXPECT_NE(d.reason.find("allow_ddl_from_functions"), std::string::npos);
    f.allow_from_functions = true;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Queue);
}

TEST(AutoDdl, SpockTriggers) {
    AutoDdlFacts f = ddl();
    f.spock_trigger = true;
    f.context = DdlContext::Function;
    f.allow_from_functions = true;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Ignore);  // placed by repset_add_table
    f.context = DdlContext::TopLevel;
    EXPECT_EQ(decide_auto_ddl(f).action, AutoDdlAction::Skip);  // typed by a user
}

TEST(AutoDdl, SkipsWithReasons) {
    AutoDdlFacts f = ddl();
    f.temporary = true;
    EXPECT_NE(decide_auto_ddl(f).reason.find("temporary"), std::string::npos);
    f = ddl();
    f.spock_object = true;
    EXPECT_NE(decide_auto_ddl(f).reason.find("spock"), std::string::npos);
    f = ddl();
    f.cluster_level = true;
    EXPECT_NE(decide_auto_ddl(f).reason.find("Database"), std::string::npos);
    f = ddl();
    f.prepared_statement = true;
    EXPECT_NE(decide_auto_ddl(f).reason.find("prepared statement"), std::string::npos);
    f = ddl();
    f.cls = StatementClass::NotInTransaction;
    AutoDdlDecision d = decide_auto_ddl(f);
    EXPECT_EQ(d.action, AutoDdlAction::Skip);
    EXPECT_NE(d.reason.find("transaction block"), std::string::npos);
}

TEST(AutoDdl, DenyAllDdl) {
    EXPECT_FALSE(deny_ddl_error(StatementClass::Ddl, "CREATE TABLE", false, false));
    EXPECT_FALSE(deny_ddl_error(StatementClass::NotDdl, "INSERT", true, false));
    EXPECT_FALSE(deny_ddl_error(StatementClass::Ddl, "CREATE TABLE", true, true));
    auto e = deny_ddl_error(StatementClass::NotInTransaction, "CREATE INDEX", true, false);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->sqlstate(), "42501");
    EXPECT_EQ(e->message(), "cannot execute CREATE INDEX while spock.deny_all_ddl is on");
    EXPECT_FALSE(e->detail().empty());
    EXPECT_FALSE(e->hint().empty());
}

TEST(AutoDdl, SearchPathPrefix) {
    EXPECT_TRUE(ddl_needs_search_path("CREATE TABLE"));
    EXPECT_TRUE(ddl_needs_search_path("CLUSTER"));
    EXPECT_FALSE(ddl_needs_search_path("ALTER TABLESPACE"));
    EXPECT_FALSE(ddl_needs_search_path("CREATE ROLE"));
    EXPECT_FALSE(ddl_needs_search_path("ALTER DATABASE"));
}

TEST(AutoDdl, StatementText) {
    std::string q = "SELECT 1; CREATE TABLE t (id int);  ALTER TABLE t ADD b int ;\n";
    EXPECT_EQ(statement_text(q, 9, 24), "CREATE TABLE t (id int)");
    EXPECT_EQ(statement_text(q, 34, 0), "ALTER TABLE t ADD b int");
    EXPECT_EQ(statement_text("  DROP TABLE x;", -1, 0), "DROP TABLE x");
    EXPECT_EQ(statement_text("DROP TABLE x", 100, 0), "DROP TABLE x");
}

TEST(AutoDdl, RepsetPlan) {
    TableForSets keyed;
    keyed.has_identity = true;
    RepsetPlan p = plan_ddl_repset(keyed);
    EXPECT_EQ(p.add_to, "default");
    EXPECT_TRUE(p.remove_from.empty());

    keyed.in_default = true;  // ALTER of a table already there: nothing
    EXPECT_FALSE(plan_ddl_repset(keyed).changes());

    TableForSets now_keyed;  // ADD PRIMARY KEY to a table of default_insert_only
    now_keyed.has_identity = true;
    now_keyed.in_default_insert_only = true;
    now_keyed.in_any_set = true;
    p = plan_ddl_repset(now_keyed);
    EXPECT_EQ(p.add_to, "default");
    ASSERT_EQ(p.remove_from.size(), 1u);
    EXPECT_EQ(p.remove_from[0], "default_insert_only");

    TableForSets keyless;
    p = plan_ddl_repset(keyless);
    EXPECT_EQ(p.add_to, "default_insert_only");

    TableForSets unlogged;
    unlogged.persistence = 'u';
    unlogged.has_identity = true;
    unlogged.in_any_set = true;
    p = plan_ddl_repset(unlogged);
    EXPECT_TRUE(p.remove_from_all);
    EXPECT_FALSE(p.add_to);

    TableForSets temp;
    temp.persistence = 't';
    EXPECT_FALSE(plan_ddl_repset(temp).changes());
    TableForSets part;
    part.is_partition = true;
    part.has_identity = true;
    EXPECT_FALSE(plan_ddl_repset(part).changes());
    TableForSets view;
    view.relkind = 'v';
    EXPECT_FALSE(plan_ddl_repset(view).changes());
}

TEST(AutoDdl, Fingerprint) {
    std::vector<ColumnShape> a = {{"id", "bigint", true}, {"v", "text", false}};
    EXPECT_EQ(table_shape_text(a), "id bigint NOT NULL, v text");
    EXPECT_EQ(table_shape_text({}), "(no columns)");
    std::string fa = table_fingerprint(a);
    EXPECT_EQ(fa.size(), 16u);
    EXPECT_EQ(fa, table_fingerprint(a));
    std::vector<ColumnShape> b = a;
    b[1].not_null = true;
    EXPECT_NE(table_fingerprint(b), fa);
    std::vector<ColumnShape> c = {{"v", "text", false}, {"id", "bigint", true}};
    EXPECT_NE(table_fingerprint(c), fa);  // column order matters
    std::vector<ColumnShape> d = {{"i", "dbigint", true}, {"v", "text", false}};
    EXPECT_NE(table_fingerprint(d), fa);  // boundaries matter
}

TEST(AutoDdl, TargetCommentRoundTrip) {
    DdlTargetNote n{"public", "orders", "0123456789abcdef", "id bigint NOT NULL, v text"};
    std::string c = ddl_target_comment(n);
    EXPECT_EQ(c,
              "/* spock:ddl_target nsp=public;rel=orders;fp=0123456789abcdef;"
              "cols=id bigint NOT NULL, v text */ ");
    auto back = parse_ddl_target_comment(c + "SET search_path TO public; ALTER TABLE orders");
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, n);
}

TEST(AutoDdl, TargetCommentCannotBeBrokenByNames) {
    DdlTargetNote n{"we;ird", "a*/ DROP TABLE x; /*", "0123456789abcdef", "c%d\n text"};
    std::string c = ddl_target_comment(n);
    // The comment ends exactly once, at its end.
    EXPECT_EQ(c.find("*/"), c.size() - 3);
    auto back = parse_ddl_target_comment(c);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, n);
}

TEST(AutoDdl, TargetCommentMalformed) {
    EXPECT_FALSE(parse_ddl_target_comment("SET search_path TO public; ALTER TABLE t"));
    EXPECT_FALSE(parse_ddl_target_comment("/* spock:ddl_target nsp=a;rel=b;fp=c;cols=x"));
    EXPECT_FALSE(parse_ddl_target_comment("/* spock:ddl_target nsp=a;rel=b;cols=x */"));
    EXPECT_FALSE(parse_ddl_target_comment("/* spock:ddl_target nsp=a;rel=b;fp=c;cols=%4 */"));
    EXPECT_FALSE(parse_ddl_target_comment("/* spock:ddl_target nsp=;rel=b;fp=c;cols= */"));
}
