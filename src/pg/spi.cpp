#include "spock/pg/spi.hpp"

#include "spock/pg/guard.hpp"

extern "C" {
#include <catalog/pg_type.h>
#include <executor/spi.h>
#include <utils/builtins.h>
}

namespace spock::pg {
namespace {

constexpr int kMaxParams = 32;

// Executes through SPI; returns the SPI result code. Raises a C++ exception on error. Every
// parameter is passed as a text datum under its declared type: text itself, or a type that is
// binary compatible with text (pg_node_tree).
int execute(const char* sql, const std::vector<TypedValue>& params) {
    if (params.size() > kMaxParams) {
        throw core::Error(core::sqlstate::kInternalError, "too many SPI parameters");
    }
    Oid types[kMaxParams];
    Datum values[kMaxParams];
    char nulls[kMaxParams];
    int n = 0;
    for (const TypedValue& tp : params) {
        const SqlValue& p = tp.value;
        types[n] = tp.type;
        if (p) {
            const char* s = p->c_str();
            values[n] = pg_call([s] { return CStringGetTextDatum(s); });
            nulls[n] = ' ';
        } else {
            values[n] = (Datum)0;
            nulls[n] = 'n';
        }
        n++;
    }
    int rc = pg_call([&] { return SPI_execute_with_args(sql, n, types, values, nulls, false, 0); });
    if (rc < 0) {
        throw core::Error(core::sqlstate::kInternalError,
                          std::string("SPI_execute failed: ") + SPI_result_code_string(rc),
                          std::string("Statement: ") + sql);
    }
    return rc;
}

std::vector<TypedValue> as_text(std::initializer_list<SqlValue> params) {
    std::vector<TypedValue> out;
    out.reserve(params.size());
    for (const SqlValue& p : params) {
        out.push_back({p, TEXTOID});
    }
    return out;
}

}  // namespace

void spi_connect() {
    int rc = pg_call([] { return SPI_connect(); });
    if (rc != SPI_OK_CONNECT) {
        throw core::Error(core::sqlstate::kInternalError, "SPI_connect failed");
    }
}

void spi_finish() {
    pg_call([] { SPI_finish(); });
}

std::vector<SqlRow> spi_query(const char* sql, std::initializer_list<SqlValue> params) {
    execute(sql, as_text(params));
    std::vector<SqlRow> rows;
    SPITupleTable* table = SPI_tuptable;
    if (table == nullptr) {
        return rows;
    }
    uint64 nrows = SPI_processed;
    int ncols = table->tupdesc->natts;
    rows.reserve(nrows);
    for (uint64 r = 0; r < nrows; r++) {
        SqlRow row;
        row.reserve(ncols);
        for (int c = 1; c <= ncols; c++) {
            HeapTuple tuple = table->vals[r];
            TupleDesc desc = table->tupdesc;
            char* v = pg_call([tuple, desc, c] { return SPI_getvalue(tuple, desc, c); });
            if (v == nullptr) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(v));
                pfree(v);
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

uint64_t spi_exec(const char* sql, std::initializer_list<SqlValue> params) {
    execute(sql, as_text(params));
    return SPI_processed;
}

uint64_t spi_exec_typed(const char* sql, const std::vector<TypedValue>& params) {
    for (const TypedValue& p : params) {
        if (p.type != TEXTOID && p.type != PG_NODE_TREEOID) {
            throw core::Error(core::sqlstate::kInternalError,
                              "SPI parameters must be text or pg_node_tree");
        }
    }
    execute(sql, params);
    return SPI_processed;
}

SqlValue spi_value(const char* sql, std::initializer_list<SqlValue> params) {
    std::vector<SqlRow> rows = spi_query(sql, params);
    if (rows.empty() || rows[0].empty()) {
        return std::nullopt;
    }
    return rows[0][0];
}

}  // namespace spock::pg
