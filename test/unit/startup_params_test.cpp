#include <algorithm>
// Startup parameters (reference §5.1): what the subscriber sends, how the provider validates it,
// binary format negotiation and the 'S' message parameters.
#include "spock/core/startup_params.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "spock/core/error.hpp"

namespace {

using namespace spock::core;

ClientStartupInputs sample_client() {
    ClientStartupInputs in;
    in.expected_encoding = "UTF8";
    in.pg_version_num = 150010;
    in.binary = native_binary_traits(150010);
    in.forward_origins = {};
    in.replication_sets = {"default", "default_insert_only", "ddl_sql"};
    in.apply_pid = 4242;
    in.spock_version = "5.1.0";
    in.spock_version_num = 50100;
    return in;
}

std::vector<StartupOption> minimal(std::vector<StartupOption> extra = {}) {
    std::vector<StartupOption> opts = {
        {"startup_params_format", "1"}, {"min_proto_version", "3"}, {"max_proto_version", "4"}};
    opts.insert(opts.end(), extra.begin(), extra.end());
    return opts;
}

void expect_error(const std::vector<StartupOption>& opts, std::string_view sqlstate,
                  std::string_view needle) {
    try {
        (void)parse_startup_options(opts);
        ADD_FAILURE() << "accepted; expected " << needle;
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate) << e.what();
        std::string all = e.message() + " | " + e.detail();
        EXPECT_NE(all.find(needle), std::string::npos) << all;
    }
}

TEST(ClientStartupOptions, SpockOrderAndValues) {
    auto opts = client_startup_options(sample_client());
    std::vector<StartupOption> expected = {
        {"expected_encoding", "UTF8"},
        {"min_proto_version", "3"},
        {"max_proto_version", "4"},
        {"startup_params_format", "1"},
        {"binary.want_internal_basetypes", "1"},
        {"binary.want_binary_basetypes", "1"},
        {"binary.basetypes_major_version", "1500"},
        {"binary.sizeof_datum", "8"},
        {"binary.sizeof_int", "4"},
        {"binary.sizeof_long", "8"},
        {"binary.bigendian", "0"},
        {"binary.float4_byval", "1"},
        {"binary.float8_byval", "1"},
        {"binary.integer_datetimes", "1"},
        {"hooks.setup_function", "spock.spock_hooks_setup"},
        {"spock.forward_origins", ""},
        {"spock.replication_set_names", "\"default\",default_insert_only,ddl_sql"},
        {"relmeta_cache_size", "-1"},
        {"pg_version", "150010"},
        {"spock_version", "5.1.0"},
        {"spock_version_num", "50100"},
        {"spock_apply_pid", "4242"},
    };
    if (sizeof(void*) == 8 && sizeof(long) == 8) {
        EXPECT_EQ(opts, expected);
    }
}

TEST(ClientStartupOptions, TextTransferOriginsAndOnlyTable) {
    auto in = sample_client();
    in.force_text_transfer = true;
    in.forward_origins = {"all"};
    in.replicate_only_table = std::make_pair("My Schema", "t1");
    auto opts = client_startup_options(in);
    auto find = [&](std::string_view name) -> std::optional<std::string> {
        for (const auto& o : opts) {
            if (o.name == name) {
                return o.value;
            }
        }
        return std::nullopt;
    };
    EXPECT_EQ(find("binary.want_internal_basetypes"), "0");
    EXPECT_EQ(find("binary.want_binary_basetypes"), "0");
    EXPECT_EQ(find("spock.forward_origins"), "\"all\"");  // all is a reserved word
    EXPECT_EQ(find("spock.replicate_only_table"), "\"My Schema\".t1");
    // The provider reads back what the client sent.
    auto p = parse_startup_options(opts);
    EXPECT_TRUE(p.forward_all_origins);
    EXPECT_EQ(p.replicate_only_table, std::make_pair(std::string("My Schema"), std::string("t1")));
    EXPECT_EQ(p.replication_set_names,
              (std::vector<std::string>{"default", "default_insert_only", "ddl_sql"}));
    EXPECT_EQ(p.expected_encoding, "UTF8");
    EXPECT_EQ(p.proto_version, 4U);
    EXPECT_FALSE(p.binary.want_internal_basetypes);
    EXPECT_EQ(p.binary.basetypes_major_version, 1500U);
    EXPECT_EQ(p.pg_version, "150010");
    EXPECT_EQ(p.ignored_options,
              (std::vector<std::string>{"relmeta_cache_size", "spock_version", "spock_version_num",
                                        "spock_apply_pid"}));
}

TEST(StartReplicationCommand, QuotesNamesAndValues) {
    std::vector<StartupOption> opts = {{"expected_encoding", "UTF8"},
                                       {"spock.replication_set_names", "it's"},
                                       {"we\"ird", std::nullopt}};
    EXPECT_EQ(start_replication_command("spk_db_n1_sub", Lsn{0x16B374D848}, opts),
              "START_REPLICATION SLOT \"spk_db_n1_sub\" LOGICAL 16/B374D848 "
              "(\"expected_encoding\" 'UTF8', \"spock.replication_set_names\" 'it''s', "
              "\"we\"\"ird\")");
    EXPECT_EQ(start_replication_command("s", Lsn{}, {}),
              "START_REPLICATION SLOT \"s\" LOGICAL 0/0");
}

TEST(ParseStartupOptions, MinimalDefaults) {
    auto p = parse_startup_options(minimal());
    EXPECT_EQ(p.client_min_proto_version, 3U);
    EXPECT_EQ(p.client_max_proto_version, 4U);
    EXPECT_EQ(p.proto_version, 4U);
    EXPECT_EQ(p.proto_format, ProtoFormat::Native);
    EXPECT_FALSE(p.forward_all_origins);
    EXPECT_FALSE(p.replication_set_names.has_value());
    EXPECT_FALSE(p.expected_encoding.has_value());
    EXPECT_EQ(p.binary, BinaryRequest{});
}

TEST(ParseStartupOptions, ProtocolVersionOverlap) {
    auto with_versions = [](std::string min, std::string max) {
        return std::vector<StartupOption>{
            {"startup_params_format", "1"}, {"min_proto_version", min}, {"max_proto_version", max}};
    };
    EXPECT_EQ(parse_startup_options(with_versions("1", "3")).proto_version, 3U);
    EXPECT_EQ(parse_startup_options(with_versions("4", "9")).proto_version, 4U);
    EXPECT_EQ(parse_startup_options(with_versions("0", "100")).proto_version, 4U);
    expect_error(with_versions("5", "6"), "08P01", "requires protocol version 5 or later");
    expect_error(with_versions("1", "2"), "08P01", "only protocol version 2 or earlier");
    expect_error(with_versions("4", "3"), "08P01", "greater than max_proto_version 3");
    expect_error(with_versions("x", "4"), "22023",
                 "invalid value \"x\" for startup parameter "
                 "\"min_proto_version\"");
    expect_error(with_versions("-1", "4"), "22023", "min_proto_version");
    expect_error(with_versions("3", "4294967296"), "22023", "max_proto_version");
    expect_error(with_versions("3", " 4"), "22023", "max_proto_version");
    expect_error(with_versions("3", ""), "22023", "max_proto_version");
}

TEST(ParseStartupOptions, RequiredParameters) {
    expect_error({{"min_proto_version", "3"}, {"max_proto_version", "4"}}, "08P01",
                 "missing required startup parameter \"startup_params_format\"");
    expect_error({{"startup_params_format", "1"}, {"max_proto_version", "4"}}, "08P01",
                 "\"min_proto_version\"");
    expect_error({{"startup_params_format", "1"}, {"min_proto_version", "3"}}, "08P01",
                 "\"max_proto_version\"");
    expect_error(minimal({{"startup_params_format", "2"}}), "08P01",
                 "unsupported startup_params_format 2");
    expect_error(minimal({{"min_proto_version", std::nullopt}}), "22023",
                 "startup parameter \"min_proto_version\" requires a value");
}

TEST(ParseStartupOptions, BooleansAreStrict) {
    for (const char* t : {"t", "true", "1", "on", "TRUE", "On", "T"}) {
        EXPECT_TRUE(parse_startup_options(minimal({{"binary.want_binary_basetypes", t}}))
                        .binary.want_binary_basetypes)
            << t;
    }
    for (const char* f : {"f", "false", "0", "off", "FALSE", "OFF"}) {
        auto p = parse_startup_options(
            minimal({{"binary.want_binary_basetypes", "1"}, {"binary.want_binary_basetypes", f}}));
        EXPECT_FALSE(p.binary.want_binary_basetypes) << f;
    }
    for (const char* bad : {"", "yes", "no", "tru", "2", " t", "on "}) {
        expect_error(minimal({{"binary.bigendian", bad}}), "22023", "binary.bigendian");
    }
    expect_error(minimal({{"no_txinfo", std::nullopt}}), "22023", "requires a value");
}

TEST(ParseStartupOptions, ForwardOrigins) {
    EXPECT_FALSE(
        parse_startup_options(minimal({{"spock.forward_origins", ""}})).forward_all_origins);
    EXPECT_TRUE(
        parse_startup_options(minimal({{"spock.forward_origins", "all"}})).forward_all_origins);
    EXPECT_TRUE(
        parse_startup_options(minimal({{"spock.forward_origins", "\"all\""}})).forward_all_origins);
    EXPECT_TRUE(parse_startup_options(minimal({{"spock.forward_origins", " ALL , all"}}))
                    .forward_all_origins);
    expect_error(minimal({{"spock.forward_origins", "n1"}}), "22023", "Unrecognized origin \"n1\"");
    expect_error(minimal({{"spock.forward_origins", "\"ALL\""}}), "22023", "\"ALL\"");
    expect_error(minimal({{"spock.forward_origins", "all,"}}), "22023", "spock.forward_origins");
}

TEST(ParseStartupOptions, ReplicationSetsAndOnlyTable) {
    auto p = parse_startup_options(
        minimal({{"spock.replication_set_names", "\"default\", Foo ,\"Bar\""},
                 {"spock.replicate_only_table", " public . \"My\"\"Table\" "}}));
    EXPECT_EQ(p.replication_set_names, (std::vector<std::string>{"default", "foo", "Bar"}));
    EXPECT_EQ(p.replicate_only_table,
              std::make_pair(std::string("public"), std::string("My\"Table")));
    EXPECT_EQ(
        parse_startup_options(minimal({{"spock.replication_set_names", ""}})).replication_set_names,
        std::vector<std::string>{});
    expect_error(minimal({{"spock.replication_set_names", "a,,b"}}), "22023",
                 "spock.replication_set_names");
    for (const char* bad : {"t1", "a.b.c", "a.", ".b", "\"a.b", "a b.c", "\"\".t", "a.\"b\"x"}) {
        expect_error(minimal({{"spock.replicate_only_table", bad}}), "22023",
                     "spock.replicate_only_table");
    }
    auto longname = parse_startup_options(
        minimal({{"spock.replicate_only_table", "s." + std::string(70, 'X')}}));
    EXPECT_EQ(longname.replicate_only_table->second, std::string(63, 'x'));
}

TEST(ParseStartupOptions, FormatsAndIgnoredKeys) {
    EXPECT_EQ(parse_startup_options(minimal({{"proto_format", "json"}})).proto_format,
              ProtoFormat::Json);
    expect_error(minimal({{"proto_format", "Native"}}), "22023", "proto_format");
    auto p = parse_startup_options(minimal(
        {{"hooks.setup_function", std::nullopt}, {"something_new", "x"}, {"no_txinfo", "t"}}));
    EXPECT_EQ(p.ignored_options, std::vector<std::string>{"something_new"});
    EXPECT_EQ(p.no_txinfo, true);
}

TEST(NegotiateBinaryFormats, InternalNeedsEveryTraitToMatch) {
    const BinaryTraits server = native_binary_traits(150010);
    auto client = parse_startup_options(client_startup_options(sample_client())).binary;
    EXPECT_EQ(negotiate_binary_formats(client, server), (BinaryFormats{true, true}));

    BinaryRequest other_major = client;
    other_major.basetypes_major_version = 1600;
    EXPECT_EQ(negotiate_binary_formats(other_major, server), (BinaryFormats{false, false}));

    BinaryRequest no_major = client;
    no_major.basetypes_major_version.reset();
    EXPECT_EQ(negotiate_binary_formats(no_major, server), (BinaryFormats{false, false}));

    BinaryRequest unsent = client;  // traits that are not sent are not compared
    unsent.sizeof_long.reset();
    unsent.bigendian.reset();
    EXPECT_EQ(negotiate_binary_formats(unsent, server), (BinaryFormats{true, true}));

    BinaryRequest endian = client;
    endian.bigendian = !server.bigendian;
    EXPECT_EQ(negotiate_binary_formats(endian, server), (BinaryFormats{false, true}));

    BinaryRequest f8 = client;
    f8.float8_byval = !server.float8_byval;
    EXPECT_EQ(negotiate_binary_formats(f8, server), (BinaryFormats{false, true}));

    BinaryRequest text_only = client;
    text_only.want_internal_basetypes = false;
    text_only.want_binary_basetypes = false;
    EXPECT_EQ(negotiate_binary_formats(text_only, server), (BinaryFormats{false, false}));
}

TEST(ServerStartupParams, KeysInReferenceOrder) {
    ServerStartupInputs in;
    in.pg_version_num = 150010;
    in.pg_version = "15.10";
    in.pg_catversion = 202209061;
    in.database_encoding = "UTF8";
    in.walsender_pid = 777;
    in.spock_version = "5.1.0";
    in.spock_version_num = 50100;
    in.binary = native_binary_traits(150010);
    in.formats = BinaryFormats{true, false};
    auto params = server_startup_params(in);
    std::vector<std::string> keys;
    for (const auto& kv : params) {
        keys.push_back(kv.first);
    }
    EXPECT_EQ(keys, (std::vector<std::string>{"max_proto_version",
                                              "min_proto_version",
                                              "coltypes",
                                              "pg_version_num",
                                              "pg_version",
                                              "pg_catversion",
                                              "database_encoding",
                                              "encoding",
                                              "forward_changeset_origins",
                                              "walsender_pid",
                                              "spock_version",
                                              "spock_version_num",
                                              "binary.internal_basetypes",
                                              "binary.binary_basetypes",
                                              "binary.basetypes_major_version",
                                              "binary.sizeof_int",
                                              "binary.sizeof_long",
                                              "binary.sizeof_datum",
                                              "binary.maxalign",
                                              "binary.bigendian",
                                              "binary.float4_byval",
                                              "binary.float8_byval",
                                              "binary.integer_datetimes",
                                              "binary.binary_pg_version",
                                              "no_txinfo"}));
    auto value = [&](std::string_view key) {
        for (const auto& kv : params) {
            if (kv.first == key) {
                return kv.second;
            }
        }
        return std::string("<missing>");
    };
    EXPECT_EQ(value("max_proto_version"), "4");
    EXPECT_EQ(value("min_proto_version"), "3");
    EXPECT_EQ(value("coltypes"), "f");
    EXPECT_EQ(value("encoding"), "UTF8");
    EXPECT_EQ(value("forward_changeset_origins"), "t");
    EXPECT_EQ(value("binary.internal_basetypes"), "t");
    EXPECT_EQ(value("binary.binary_basetypes"), "f");
    EXPECT_EQ(value("binary.basetypes_major_version"), "1500");
    EXPECT_EQ(value("no_txinfo"), "f");
    for (const auto& kv : params) {
        EXPECT_FALSE(kv.first.empty());
    }
}

}  // namespace

namespace spock::core {
namespace {

TEST(StartupParamsSubscriberNode, SentWhenKnownAndParsed) {
    ClientStartupInputs in;
    in.expected_encoding = "UTF8";
    in.pg_version_num = 150020;
    in.binary = native_binary_traits(150020);
    in.replication_sets = {"default"};
    const auto without = client_startup_options(in);
    EXPECT_TRUE(std::none_of(without.begin(), without.end(), [](const StartupOption& o) {
        return o.name == "spock.subscriber_node_id";
    }));
    in.subscriber_node_id = 49708;
    auto opts = client_startup_options(in);
    auto it = std::find_if(opts.begin(), opts.end(), [](const StartupOption& o) {
        return o.name == "spock.subscriber_node_id";
    });
    ASSERT_NE(it, opts.end());
    EXPECT_EQ(it->value, "49708");
    StartupParams p = parse_startup_options(opts);
    ASSERT_TRUE(p.subscriber_node_id.has_value());
    EXPECT_EQ(*p.subscriber_node_id, 49708u);
    EXPECT_TRUE(std::find(p.ignored_options.begin(), p.ignored_options.end(),
                          "spock.subscriber_node_id") == p.ignored_options.end());
}

TEST(StartupParamsStreaming, SentOnlyWhenAskedAndParsed) {
    ClientStartupInputs in;
    in.expected_encoding = "UTF8";
    in.pg_version_num = 150020;
    in.binary = native_binary_traits(150020);
    const auto without = client_startup_options(in);
    EXPECT_TRUE(std::none_of(without.begin(), without.end(), [](const StartupOption& o) {
        return o.name == "spock.stream_in_progress";
    }));
    EXPECT_FALSE(parse_startup_options(without).stream_in_progress);
    in.stream_in_progress = true;
    auto opts = client_startup_options(in);
    auto it = std::find_if(opts.begin(), opts.end(), [](const StartupOption& o) {
        return o.name == "spock.stream_in_progress";
    });
    ASSERT_NE(it, opts.end());
    EXPECT_EQ(it->value, "1");
    StartupParams p = parse_startup_options(opts);
    EXPECT_TRUE(p.stream_in_progress);
    EXPECT_TRUE(std::find(p.ignored_options.begin(), p.ignored_options.end(),
                          "spock.stream_in_progress") == p.ignored_options.end());
    // A value that is not a boolean is refused like any other boolean option.
    it->value = "maybe";
    try {
        parse_startup_options(opts);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.sqlstate(), "22023");
    }
    it->value = "off";
    EXPECT_FALSE(parse_startup_options(opts).stream_in_progress);
}

TEST(StartupParamsCompactBegin, SentOnlyWhenAskedAndParsed) {
    ClientStartupInputs in;
    in.expected_encoding = "UTF8";
    in.pg_version_num = 150020;
    in.binary = native_binary_traits(150020);
    auto is_compact = [](const StartupOption& o) { return o.name == "spock.compact_begin"; };
    const auto without = client_startup_options(in);
    EXPECT_TRUE(std::none_of(without.begin(), without.end(), is_compact));
    EXPECT_FALSE(parse_startup_options(without).compact_begin);
    in.compact_begin = true;
    auto opts = client_startup_options(in);
    auto it = std::find_if(opts.begin(), opts.end(), is_compact);
    ASSERT_NE(it, opts.end());
    EXPECT_EQ(it->value, "1");
    StartupParams p = parse_startup_options(opts);
    EXPECT_TRUE(p.compact_begin);
    EXPECT_FALSE(p.stream_in_progress);  // independent of each other
    EXPECT_TRUE(std::find(p.ignored_options.begin(), p.ignored_options.end(),
                          "spock.compact_begin") == p.ignored_options.end());
    it->value = "perhaps";
    EXPECT_THROW(parse_startup_options(opts), Error);
    it->value = "0";
    EXPECT_FALSE(parse_startup_options(opts).compact_begin);
}

}  // namespace
}  // namespace spock::core
