// Replays the fuzz seed corpus (tests/fuzz/corpus/<target>) and every input a fuzzer ever crashed
// on (tests/fuzz/regressions/<target>) through the fuzz targets' bodies: bad input must end in
// PeftError (swallowed by the body), never another exception or a crash.
#define PEFT_FUZZ_SAFETENSORS
#define PEFT_FUZZ_MODEL_CONFIG
#define PEFT_FUZZ_TOKENIZER
#define PEFT_FUZZ_ADAPTER_CONFIG
#define PEFT_FUZZ_DATASET
#define PEFT_FUZZ_RUN_CONFIG
#define PEFT_FUZZ_EVAL
#define PEFT_FUZZ_PARQUET
#include "tests/fuzz/fuzz_bodies.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>

#include "tests/test_util.h"

namespace fs = std::filesystem;

namespace {

using Body = std::function<void(const uint8_t*, size_t)>;

fs::path sourceDir() { return peft::test::sourcePath(); }

// Feeds every file of corpus/<target> and regressions/<target>; returns how many were fed.
int replay(const std::string& target, const Body& body) {
    int n = 0;
    for (const char* kind : {"corpus", "regressions"}) {
        fs::path dir = sourceDir() / "tests" / "fuzz" / kind / target;
        if (!fs::is_directory(dir)) continue;
        for (const auto& e : fs::directory_iterator(dir)) {
            if (!e.is_regular_file()) continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), {});
            SCOPED_TRACE(e.path().string());
            EXPECT_NO_THROW(body(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
            ++n;
        }
    }
    return n;
}

class FuzzRegressions : public ::testing::Test {
protected:
    static void TearDownTestSuite() {
        std::error_code ec;
        fs::remove_all(peft::fuzz::scratchDir(), ec);
    }
};

}  // namespace

TEST_F(FuzzRegressions, Safetensors) { EXPECT_GT(replay("safetensors", peft::fuzz::safetensorsBody), 0); }
TEST_F(FuzzRegressions, ModelConfig) { EXPECT_GT(replay("model_config", peft::fuzz::modelConfigBody), 0); }
TEST_F(FuzzRegressions, Tokenizer) { EXPECT_GT(replay("tokenizer", peft::fuzz::tokenizerBody), 0); }
TEST_F(FuzzRegressions, AdapterConfig) { EXPECT_GT(replay("adapter_config", peft::fuzz::adapterConfigBody), 0); }
TEST_F(FuzzRegressions, Dataset) { EXPECT_GT(replay("dataset", peft::fuzz::datasetBody), 0); }
TEST_F(FuzzRegressions, RunConfig) { EXPECT_GT(replay("run_config", peft::fuzz::runConfigBody), 0); }
TEST_F(FuzzRegressions, Eval) { EXPECT_GT(replay("eval", peft::fuzz::evalBody), 0); }
TEST_F(FuzzRegressions, Parquet) { EXPECT_GT(replay("parquet", peft::fuzz::parquetBody), 0); }

// Found by fuzz_tokenizer: a number too large for a double ("1e308328") made nlohmann throw
// out_of_range.406, which readJsonFile (and the dataset readers) did not catch: std::terminate.
TEST_F(FuzzRegressions, NumberOverflowInJsonIsAPeftError) {
    peft::test::TempDir d;
    std::ofstream(d.file("config.json")) << "{\n  \"hidden_size\": 1e999\n}\n";
    try {
        peft::readJsonFile(d.file("config.json"));
        FAIL() << "1e999 was accepted";
    } catch (const peft::PeftError& e) {
        EXPECT_NE(std::string(e.what()).find(d.file("config.json")), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("1e999"), std::string::npos) << e.what();
    }
    // A dataset row holding such a number is rejected with its line; the other rows are kept.
    auto ds = peft::data::parseDatasetBytes("d.jsonl", "{\"text\": \"a\"}\n{\"text\": \"b\", \"x\": 1e999}\n{\"text\": \"c\"}\n");
    EXPECT_EQ(ds.rows.size(), 2u);
    ASSERT_EQ(ds.rejections.size(), 1u);
    EXPECT_EQ(ds.rejections[0].line, 2);
    EXPECT_NE(ds.rejections[0].reason.find("overflow"), std::string::npos) << ds.rejections[0].reason;
    auto arr = peft::data::parseDatasetBytes("d.json", "[{\"text\": \"a\"},\n {\"x\": -1e400}]\n");
    EXPECT_EQ(arr.rows.size(), 1u);
    EXPECT_EQ(arr.rejections.size(), 1u);
}

// Found by fuzz_dataset (a 33-byte input timed out): a '}' at depth 0 inside a JSON array stopped the
// element scan without advancing, so readJsonArray appended "empty array element" forever.
TEST_F(FuzzRegressions, JsonArrayWithStrayBraceTerminates) {
    auto ds = peft::data::parseDatasetBytes("d.json", "[fitext\": \"a\"},\n {\"p!xt\".\n {b\"}]\n");
    EXPECT_TRUE(ds.rows.empty());
    EXPECT_GE(ds.rejections.size(), 1u);
    EXPECT_LE(ds.rejections.size(), 3u);
    auto ok = peft::data::parseDatasetBytes("d.json", "[{\"text\": \"a\"}, }, {\"text\": \"b\"}]");
    EXPECT_EQ(ok.rows.size(), 2u);
    EXPECT_EQ(ok.rejections.size(), 1u);
}
