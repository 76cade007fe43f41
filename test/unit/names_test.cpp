// Ids and names against values computed by a PostgreSQL 15.20 server: ids with hashtext() and
// hashoidvector(), slot and application names with a SQL transcription of Spock's rules.
#include "spock/core/names.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spock/core/error.hpp"

namespace {

using namespace spock::core;

// ----- ids ---------------------------------------------------------------------------------

struct NodeCase {
    std::string_view name;
    NodeId node;
    InterfaceId interface;  // interface named after the node, as node_create makes it
    SetId set_default;
    SetId set_default_insert_only;
    SetId set_ddl_sql;
};

// nid = hashtext(name) & 65535; ids = hashoidvector((nid || ' ' || hashtext(x)::uint)::oidvector)
const std::vector<NodeCase> kNodes = {
    {"n1", 49708, 3980673619U, 2215107256U, 2285154942U, 3025306227U},
    {"n2", 26863, 3757426505U, 3548382209U, 1419651688U, 1071998122U},
    {"n3", 9057, 3582936755U, 698826868U, 2271014878U, 326887478U},
    {"node1", 30830, 2256866226U, 3697663052U, 3277128467U, 3454193415U},
    {"subscriber", 30627, 1841145082U, 876462524U, 4294280595U, 2033030149U},
    {"provider", 22060, 2380817542U, 3114900255U, 1789537110U, 2278736203U},
    {"ÄÖÜ", 57597, 2727606599U, 251350229U, 1953960101U, 844281660U},
};

TEST(Ids, NodeIdIsLow16BitsOfHash) {
    for (const auto& c : kNodes) {
        EXPECT_EQ(node_id(c.name), c.node) << c.name;
        EXPECT_LE(node_id(c.name), 0xFFFFU);
    }
}

TEST(Ids, InterfaceIdHashesNodeAndNameHash) {
    for (const auto& c : kNodes) {
        EXPECT_EQ(interface_id(c.node, c.name), c.interface) << c.name;
    }
}

TEST(Ids, SetIdsOfDefaultSets) {
    for (const auto& c : kNodes) {
        EXPECT_EQ(set_id(c.node, "default"), c.set_default) << c.name;
        EXPECT_EQ(set_id(c.node, "default_insert_only"), c.set_default_insert_only) << c.name;
        EXPECT_EQ(set_id(c.node, "ddl_sql"), c.set_ddl_sql) << c.name;
    }
}

TEST(Ids, SubscriptionIdIsFullHash) {
    EXPECT_EQ(subscription_id("sub_n1_n2"), 2979946351U);
    EXPECT_EQ(subscription_id("sub_n2_n1"), 1248781941U);
    EXPECT_EQ(subscription_id("sub1"), 2849729983U);
}

// ----- shorten_hash and slot names ----------------------------------------------------------

TEST(ShortenHash, KeepsNamesUpToMaxlen) {
    EXPECT_EQ(shorten_hash("", 16), "");
    EXPECT_EQ(shorten_hash("postgres", 16), "postgres");
    EXPECT_EQ(shorten_hash("exactly16bytes__", 16), "exactly16bytes__");
}

TEST(ShortenHash, SeventeenBytesBecomeFifteen) {
    // 8 name bytes + the first 7 of the 8 hex digits of 0x7dc79e26 (the Spock quirk).
    const std::string s = shorten_hash("seventeen_bytes_x", 16);
    EXPECT_EQ(s, "seventee7dc79e2");
    EXPECT_EQ(s.size(), 15U);
}

TEST(ShortenHash, CutsBytesNotCharacters) {
    // The 8-byte prefix ends before the umlauts; the hash (0xa9d2f1ff) covers every byte.
    EXPECT_EQ(shorten_hash("datenbank_äöü_lang", 16), "datenbana9d2f1f");
}

TEST(ShortenHash, GeneralMaxlenKeepsMaxlenMinusOneBytes) {
    const std::string long_name(57, 'x');
    const std::string s = shorten_hash(long_name, 56);
    EXPECT_EQ(s, std::string(48, 'x') + "9a04c21");
    EXPECT_EQ(s.size(), 55U);
}

TEST(ShortenHash, RejectsMaxlenTooSmallForHash) {
    EXPECT_THROW(shorten_hash("abcdefghijk", 8), Error);
}

TEST(SlotName, ShortNamesPassThrough) {
    EXPECT_EQ(gen_slot_name("postgres", "n1", "sub_n1_n2"), "spk_postgres_n1_sub_n1_n2");
    EXPECT_EQ(gen_slot_name("postgres", "n2", "sub_n2_n1"), "spk_postgres_n2_sub_n2_n1");
    EXPECT_EQ(gen_slot_name("pgedge", "n1", "sub_n1_n3"), "spk_pgedge_n1_sub_n1_n3");
}

TEST(SlotName, SixteenBytePartsAreKept) {
    EXPECT_EQ(gen_slot_name("exactly16bytes__", "sixteen_bytes_xx", "abcdefghijklmnop"),
              "spk_exactly16bytes___sixteen_bytes_xx_abcdefghijklmnop");
}

TEST(SlotName, SeventeenBytePartsAreHashed) {
    EXPECT_EQ(gen_slot_name("seventeen_bytes_x", "Provider-Node.17b", "sub_seventeen_17b"),
              "spk_seventee7dc79e2__rovider759f438_sub_seve9329fb9");
}

TEST(SlotName, LongNames) {
    const std::string slot =
        gen_slot_name("a_very_long_database_name", "a_very_long_provider_node_name",
                      "a_very_long_subscription_name_n1_n2");
    EXPECT_EQ(slot, "spk_a_very_la96a1be_a_very_l319b1dd_a_very_le8ce921");
    EXPECT_LE(slot.size(), kNameDataLen - 1);
}

TEST(SlotName, ReplacesEverythingOutsideLowerDigitUnderscore) {
    EXPECT_EQ(gen_slot_name("Regression DB", "Node-One", "MySub"),
              "spk__egression_____ode__ne__y_ub");
    // Each byte of a multi-byte character becomes one underscore.
    EXPECT_EQ(gen_slot_name("datenbank_äöü_lang", "ノード", "sub"),
              "spk_datenbana9d2f1f___________sub");
}

TEST(SlotName, LongestPossibleFitsInName) {
    const std::string big(200, 'z');
    const std::string slot = gen_slot_name(big, big, big);
    EXPECT_EQ(slot.size(), 4U + 15 + 1 + 15 + 1 + 15);
    for (char c : slot) {
        EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') << slot;
    }
}

TEST(SyncSlotName, AppendsHashOfQuotedName) {
    EXPECT_EQ(sync_slot_name("spk_postgres_n1_sub_n1_n2", "public.\"Order Items\""),
              "spk_postgres_n1_sub_n1_n2_27eaa206");
    EXPECT_EQ(sync_slot_name("spk_postgres_n1_sub_n1_n2", "public.t1"),
              "spk_postgres_n1_sub_n1_n2_7255cc5d");
    EXPECT_EQ(
        sync_slot_name("spk_postgres_n1_sub_n1_n2", quote_qualified_identifier("order", "user")),
        "spk_postgres_n1_sub_n1_n2_55207e05");
}

TEST(SyncSlotName, LongestSubSlotStillFits) {
    const std::string big(200, 'z');
    const std::string sub_slot = gen_slot_name(big, big, big);
    EXPECT_EQ(sync_slot_name(sub_slot, "public.t1").size(), sub_slot.size() + 9);
    EXPECT_EQ(sync_slot_name(std::string(70, 'q'), "public.t1").size(), kNameDataLen - 1);
}

// ----- application names -----------------------------------------------------------------------

TEST(ApplicationName, NoSuffixIsTheName) {
    EXPECT_EQ(application_name("spk_postgres_n1_sub_n1_n2"), "spk_postgres_n1_sub_n1_n2");
    EXPECT_EQ(application_name("Any Name At All"), "Any Name At All");
}

TEST(ApplicationName, ShortNameWithSuffix) {
    EXPECT_EQ(application_name("spk_postgres_n1_sub_n1_n2", "sync"),
              "spk_postgres_n1_sub_n1_n2_sync");
}

TEST(ApplicationName, BoundaryAtSixtyFourMinusSuffix) {
    // maxlen for "create" is 64 - 6 - 2 = 56.
    EXPECT_EQ(application_name(std::string(56, 'x'), "create"), std::string(56, 'x') + "_create");
    EXPECT_EQ(application_name(std::string(57, 'x'), "create"),
              std::string(48, 'x') + "9a04c21_create");
}

TEST(ApplicationName, LongNamesAreHashed) {
    std::string name;
    for (int i = 0; i < 7; ++i) {
        name += "abcdefghij";
    }
    EXPECT_EQ(application_name(name, "copy_slot"),
              "abcdefghijabcdefghijabcdefghijabcdefghijabcdebcf5ea4_copy_slot");
    EXPECT_EQ(application_name(
                  "spk_seventee7dc79e2__rovider759f438_sub_seve9329fb9_extra_long_name", "catchup"),
              "spk_seventee7dc79e2__rovider759f438_sub_seve93298c5e4c_catchup");
}

TEST(ApplicationName, AlwaysFitsInName) {
    for (std::string_view suffix :
         {"create", "cleanup", "sync", "snap", "copy", "copy_slot", "catchup"}) {
        EXPECT_LE(application_name(std::string(300, 'n'), suffix).size(), kNameDataLen - 1)
            << suffix;
    }
}

// ----- subscription names --------------------------------------------------------------------

TEST(SubscriptionName, AcceptsLowerDigitsUnderscore) {
    EXPECT_TRUE(is_valid_subscription_name("sub_n1_n2"));
    EXPECT_TRUE(is_valid_subscription_name("_"));
    EXPECT_TRUE(is_valid_subscription_name("1"));
    EXPECT_TRUE(is_valid_subscription_name(std::string(63, 'a')));
}

TEST(SubscriptionName, RejectsEverythingElse) {
    EXPECT_FALSE(is_valid_subscription_name(""));
    EXPECT_FALSE(is_valid_subscription_name(std::string(64, 'a')));
    EXPECT_FALSE(is_valid_subscription_name("Sub"));
    EXPECT_FALSE(is_valid_subscription_name("sub-1"));
    EXPECT_FALSE(is_valid_subscription_name("sub 1"));
    EXPECT_FALSE(is_valid_subscription_name("sub.1"));
    EXPECT_FALSE(is_valid_subscription_name("süb"));
    EXPECT_FALSE(is_valid_subscription_name(std::string_view("a\0b", 3)));
}

// ----- identifiers -----------------------------------------------------------------------------

TEST(QuoteIdentifier, MatchesServerQuoteIdent) {
    struct Case {
        std::string_view in;
        std::string_view out;
    };
    // SELECT s, quote_ident(s) FROM unnest(ARRAY[...]) s
    const std::vector<Case> cases = {
        {"default", "\"default\""},
        {"default_insert_only", "default_insert_only"},
        {"ddl_sql", "ddl_sql"},
        {"Foo", "\"Foo\""},
        {"1abc", "\"1abc\""},
        {"a\"b", "\"a\"\"b\""},
        {"", "\"\""},
        {"ÄÖ", "\"ÄÖ\""},
        {"user", "\"user\""},
        {"abc_1", "abc_1"},
        {"_x", "_x"},
        {"a b", "\"a b\""},
        {"x$", "\"x$\""},
        {"$x", "\"$x\""},
        {"order", "\"order\""},
        {"name", "name"},
        {"text", "text"},
        {"public", "public"},
        {"select", "\"select\""},
        {"a1", "a1"},
        {"left", "\"left\""},
        {"xmltable", "\"xmltable\""},
        {"all", "\"all\""},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(quote_identifier(c.in), c.out) << c.in;
    }
}

TEST(QuoteIdentifier, Qualified) {
    EXPECT_EQ(quote_qualified_identifier("public", "Order Items"), "public.\"Order Items\"");
    EXPECT_EQ(quote_qualified_identifier("order", "user"), "\"order\".\"user\"");
    EXPECT_EQ(quote_qualified_identifier("s", "t"), "s.t");
}

TEST(JoinQuoted, DefaultReplicationSets) {
    const std::vector<std::string> sets = {"default", "default_insert_only", "ddl_sql"};
    EXPECT_EQ(join_quoted(sets), "\"default\",default_insert_only,ddl_sql");
    EXPECT_EQ(join_quoted(std::vector<std::string>{}), "");
    EXPECT_EQ(join_quoted(std::vector<std::string>{"My Set"}), "\"My Set\"");
}

TEST(SplitIdentifierList, RoundTripsJoinQuoted) {
    const std::vector<std::string> sets = {"default", "My \"Set\"", "ddl_sql", ""};
    EXPECT_EQ(split_identifier_list(join_quoted(sets)), sets);
}

TEST(SplitIdentifierList, FollowsSplitIdentifierStringRules) {
    EXPECT_EQ(split_identifier_list(""), std::vector<std::string>{});
    EXPECT_EQ(split_identifier_list("   "), std::vector<std::string>{});
    EXPECT_EQ(split_identifier_list(" A , \"B\"\"c\" "), (std::vector<std::string>{"a", "B\"c"}));
    EXPECT_EQ(split_identifier_list("x,y"), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(split_identifier_list(std::string(70, 'a')),
              std::vector<std::string>{std::string(63, 'a')});
    // Truncation does not split a two-byte character that straddles byte 63.
    EXPECT_EQ(split_identifier_list("\"" + std::string(62, 'a') + "ä\""),
              std::vector<std::string>{std::string(62, 'a')});
}

TEST(SplitIdentifierList, RejectsBadSyntax) {
    // Each of these is rejected by SET search_path as "List syntax is invalid".
    for (std::string_view bad : {"a,,b", "a b", "a,", "\"unterminated", ",a"}) {
        EXPECT_THROW(split_identifier_list(bad), Error) << bad;
    }
}

// ----- password masking ----------------------------------------------------------------------

TEST(MaskPassword, KeyValueUnquoted) {
    EXPECT_EQ(mask_password("host=h1 port=5432 dbname=db user=u password=s3cret"),
              "host=h1 port=5432 dbname=db user=u password=********");
    EXPECT_EQ(mask_password("password=s3cret host=h1"), "password=******** host=h1");
}

TEST(MaskPassword, KeyValueQuotedAndSpaced) {
    EXPECT_EQ(mask_password("host=h1 password = 'a secret' user=u"),
              "host=h1 password = ******** user=u");
    EXPECT_EQ(mask_password("host=h1\tpassword=''\nuser=u"), "host=h1\tpassword=********\nuser=u");
}

TEST(MaskPassword, KeyValueQuotedWithEscapes) {
    EXPECT_EQ(mask_password("host=h1 password='a \\' b c' user=u"),
              "host=h1 password=******** user=u");
    EXPECT_EQ(mask_password("password=\\ spaced\\ out user=u"), "password=******** user=u");
}

TEST(MaskPassword, SeveralPasswords) {
    EXPECT_EQ(mask_password("password=a host=h password=b"),
              "password=******** host=h password=********");
}

TEST(MaskPassword, LeavesSimilarKeysAlone) {
    EXPECT_EQ(mask_password("host=h passfile=/x/.pgpass user=password"),
              "host=h passfile=/x/.pgpass user=password");
    EXPECT_EQ(mask_password("host=h"), "host=h");
    EXPECT_EQ(mask_password("mydb"), "mydb");
    EXPECT_EQ(mask_password(""), "");
}

TEST(MaskPassword, Uri) {
    EXPECT_EQ(mask_password("postgresql://u:s3cret@h1:5432/db"),
              "postgresql://u:********@h1:5432/db");
    EXPECT_EQ(mask_password("postgres://u:s3cret@h1,h2:5433/db?sslmode=require"),
              "postgres://u:********@h1,h2:5433/db?sslmode=require");
    EXPECT_EQ(mask_password("postgresql://u@h1/db?password=s3cret&application_name=x"),
              "postgresql://u@h1/db?password=********&application_name=x");
    EXPECT_EQ(mask_password("postgresql://h1/db?sslmode=disable&password=s3cret"),
              "postgresql://h1/db?sslmode=disable&password=********");
}

TEST(MaskPassword, UriPercentEncodedKeyword) {
    // libpq decodes query keywords before it matches them: these all set the password.
    EXPECT_EQ(mask_password("postgresql://u@h/db?pass%77ord=secret"),
              "postgresql://u@h/db?pass%77ord=********");
    EXPECT_EQ(mask_password("postgresql://u@h/db?%70%61%73%73%77%6F%72%64=secret&sslmode=off"),
              "postgresql://u@h/db?%70%61%73%73%77%6F%72%64=********&sslmode=off");
    EXPECT_EQ(mask_password("postgres://h/db?sslmode=off&PASS%57ORD=secret"),
              "postgres://h/db?sslmode=off&PASS%57ORD=********");
    // Other keywords, encoded or not, and invalid escapes stay as they are.
    EXPECT_EQ(mask_password("postgresql://h/db?pass%66ile=/x&pass%7=y"),
              "postgresql://h/db?pass%66ile=/x&pass%7=y");
}

TEST(MaskPassword, UriUserInfo) {
    EXPECT_EQ(mask_password("postgresql://u:s%40cret@h/db"), "postgresql://u:********@h/db");
    // A raw '@' in the password: everything up to the last '@' before the path is masked.
    EXPECT_EQ(mask_password("postgresql://u:p@ss@h/db"), "postgresql://u:********@h/db");
    EXPECT_EQ(mask_password("postgresql://u:pw@h?password=x"),
              "postgresql://u:********@h?password=********");
    EXPECT_EQ(mask_password("postgresql://u:@h/db"), "postgresql://u:********@h/db");
}

TEST(MaskPassword, UriWithoutPassword) {
    EXPECT_EQ(mask_password("postgresql://u@h1:5432/db"), "postgresql://u@h1:5432/db");
    EXPECT_EQ(mask_password("postgresql://h1/db"), "postgresql://h1/db");
    // An '@' after the first '/' is not user info.
    EXPECT_EQ(mask_password("postgresql://h1/d:b@x"), "postgresql://h1/d:b@x");
}

TEST(MaskPassword, ConninfoNestedInDbname) {
    EXPECT_EQ(mask_password("dbname='host=h password=x' user=u"),
              "dbname='host=h password=********' user=u");
    EXPECT_EQ(mask_password("dbname=postgresql://u:pw@h/db connect_timeout=5"),
              "dbname='postgresql://u:********@h/db' connect_timeout=5");
}

TEST(MaskPassword, MalformedInputMasksFromTheWordPasswordOn) {
    EXPECT_EQ(mask_password("host=h password='unterminated secret"), "host=h password=********");
    EXPECT_EQ(mask_password("host=h junk password=secret"), "host=h junk password=********");
    EXPECT_EQ(mask_password("host=h junk"), "host=h junk");
    // Quotes that close early leave a stray token; everything after "password" goes.
    EXPECT_EQ(mask_password("host=h1 password='it''s secret' user=u"), "host=h1 password=********");
}

}  // namespace
