// The Parquet reader against files written by real writers (DuckDB: data page v1, dictionary,
// snappy/zstd/gzip/none, row groups, list<struct>; hyparquet-writer: data page v2, several pages),
// committed in tests/core/data/parquet with the script that made them: each file's rows equal its
// JSONL original's, and a Parquet copy prepares exactly the same training examples.
#include <fstream>

#include "core/data/dataset_file.h"
#include "core/data/parquet_reader.h"
#include "core/data/prepare.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
using nlohmann::json;

namespace {

std::string dataDir() { return peft::test::sourcePath("tests/core/data/parquet/"); }

std::vector<json> rowsOf(const std::string& file) {
    std::vector<json> out;
    for (auto& r : data::readDatasetFile(dataDir() + file, data::ErrorPolicy::Stop).rows) out.push_back(r.value);
    return out;
}

std::string readAll(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
}

const char* kCodecs[] = {"snappy", "zstd", "gzip", "uncompressed"};

}  // namespace

TEST(Parquet, DuckDbFilesHoldTheJsonlRows) {
    for (const char* name : {"chat", "instruction", "mixed"}) {
        auto want = rowsOf(std::string(name) + ".jsonl");
        for (const char* codec : kCodecs) {
            std::string file = std::string(name) + ".duckdb-" + codec + ".parquet";
            auto ds = data::readDatasetFile(dataDir() + file);
            EXPECT_EQ(ds.type, data::FileType::Parquet);
            ASSERT_EQ(ds.rows.size(), want.size()) << file;
            for (size_t i = 0; i < want.size(); ++i) {
                EXPECT_EQ(ds.rows[i].value, want[i]) << file << " row " << i + 1;
                EXPECT_EQ(ds.rows[i].line, static_cast<int64_t>(i + 1));
            }
        }
    }
}

TEST(Parquet, HyparquetDataPageV2FilesHoldTheJsonlRows) {
    auto want = rowsOf("instruction.jsonl");
    auto got = rowsOf("instruction.hyparquet-snappy.parquet");
    EXPECT_EQ(got, want);
    // The flat columns of the mixed dataset: nulls, booleans, negative and large integers, unicode.
    auto mixedWant = rowsOf("mixed.jsonl");
    auto mixedGot = rowsOf("mixed.hyparquet-snappy.parquet");
    ASSERT_EQ(mixedGot.size(), mixedWant.size());
    for (size_t i = 0; i < mixedWant.size(); ++i)
        for (const char* key : {"name", "count", "ratio", "ok"})
            EXPECT_EQ(mixedGot[i][key], mixedWant[i][key]) << "row " << i + 1 << " " << key;
}

TEST(Parquet, ACopyPreparesTheSameExamplesAsItsJsonlOriginal) {
    auto tok = Tokenizer::load(test::fixture("tiny-llama/base"));
    for (const char* name : {"chat", "instruction"}) {
        data::DatasetConfig cfg;
        cfg.templateName = "chatml";
        cfg.maxLength = 64;
        cfg.path = dataDir() + name + ".jsonl";
        auto want = data::prepareDataset(cfg, tok.get());
        for (std::string copy :
             {std::string(name) + ".duckdb-zstd.parquet", std::string(name) + ".duckdb-snappy.parquet",
              std::string("instruction.hyparquet-snappy.parquet")}) {
            if (copy.rfind(name, 0) != 0) continue;
            cfg.path = dataDir() + copy;
            auto got = data::prepareDataset(cfg, tok.get());
            EXPECT_EQ(got.format, want.format) << copy;
            EXPECT_EQ(got.report.fileType, "parquet");
            EXPECT_EQ(got.report.rowsAccepted, want.report.rowsAccepted) << copy;
            // The same rows are rejected (at max_length 64 one instruction row is too long), at the
            // same place: a Parquet row number is its JSONL line.
            EXPECT_EQ(got.report.rowsRejected, want.report.rowsRejected) << copy;
            ASSERT_EQ(got.report.rejections.size(), want.report.rejections.size()) << copy;
            for (size_t i = 0; i < want.report.rejections.size(); ++i) {
                EXPECT_EQ(got.report.rejections[i].line, want.report.rejections[i].line) << copy;
                EXPECT_EQ(got.report.rejections[i].reason, want.report.rejections[i].reason) << copy;
            }
            EXPECT_EQ(got.report.trainedTokens, want.report.trainedTokens) << copy;
            ASSERT_EQ(got.train.size(), want.train.size()) << copy;
            ASSERT_EQ(got.validation.size(), want.validation.size()) << copy;
            for (size_t i = 0; i < want.train.size(); ++i) {
                EXPECT_EQ(got.train[i].inputIds, want.train[i].inputIds) << copy << " example " << i;
                EXPECT_EQ(got.train[i].labels, want.train[i].labels) << copy << " example " << i;
                EXPECT_EQ(got.train[i].line, want.train[i].line);
            }
            for (size_t i = 0; i < want.validation.size(); ++i)
                EXPECT_EQ(got.validation[i].inputIds, want.validation[i].inputIds) << copy;
            EXPECT_EQ(got.report.example.size(), want.report.example.size());
        }
    }
}

TEST(Parquet, TheCliReportsOnParquetAsOnJsonl) {
    auto a = test::runCli("dataset --file '" + dataDir() + "chat.duckdb-gzip.parquet' --template chatml --json", false);
    auto b = test::runCli("dataset --file '" + dataDir() + "chat.jsonl' --template chatml --json", false);
    ASSERT_EQ(a.rc, 0) << a.out;
    ASSERT_EQ(b.rc, 0) << b.out;
    json ja = json::parse(a.out), jb = json::parse(b.out);
    EXPECT_EQ(ja["file_type"], "parquet");
    for (const char* key : {"format", "rows_accepted", "rows_rejected", "example"}) EXPECT_EQ(ja[key], jb[key]) << key;
}

TEST(Parquet, DamagedAndUnsupportedFilesSayWhy) {
    test::TempDir tmp;
    std::string bytes = readAll(dataDir() + "chat.duckdb-snappy.parquet");
    auto expectError = [&](const std::string& content, const std::string& fragment) {
        std::string path = tmp.file("x.parquet");
        std::ofstream(path, std::ios::binary) << content;
        try {
            data::readDatasetFile(path);
            ADD_FAILURE() << "no error, expected '" << fragment << "'";
        } catch (const PeftError& e) {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
    };
    expectError(bytes.substr(0, bytes.size() / 2), "truncated");
    expectError("PAR1 this is not really parquet PAR1", "footer");
    // A page in a codec no build reads: rewrite the codec field of every column chunk's metadata
    // would need a Thrift writer; instead cut the data so the first page header is garbage.
    std::string broken = bytes;
    for (size_t i = 4; i < 40 && i < broken.size(); ++i) broken[i] = static_cast<char>(0xFF);
    expectError(broken, "Parquet");
}
