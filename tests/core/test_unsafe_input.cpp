// Unsafe input is refused: pickle checkpoints and adapters, shard indexes and names that climb out of
// their folder, safetensors headers and tensors claiming terabytes, shapes that overflow, and names
// that would become unsafe file names. (The catastrophic tokenizer regex is in test_tokenizer.cpp:
// Tokenizer.CatastrophicRegexIsBounded.)
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/io/safetensors.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/util/error.h"
#include "core/util/safe_name.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;

using peft::test::errorOf;
using peft::test::writeRaw;

namespace {

// A model folder with the tiny Llama's config and tokenizer but the weights left to the test.
std::string modelFolderWithoutWeights(const peft::test::TempDir& d) {
    fs::path m = fs::path(d.path()) / "model";
    fs::create_directories(m);
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer_config.json"})
        fs::copy_file(peft::test::fixture(std::string("tiny-llama/base/") + f), m / f);
    return m.string();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(UnsafeInput, PickleCheckpointIsRefused) {
    for (const char* name : {"pytorch_model.bin", "model.pt", "model.pth", "pytorch_model.bin.index.json"}) {
        peft::test::TempDir d;
        std::string m = modelFolderWithoutWeights(d);
        // A pickle that would run a command when unpickled: it must never be opened.
        std::ofstream(fs::path(m) / name, std::ios::binary) << "\x80\x04\x95"
                                                               "cos\nsystem\n(S'touch pwned'\ntR.";
        std::string e = errorOf([&] { peft::modelWeightFiles(m); });
        EXPECT_TRUE(contains(e, name)) << e;
        EXPECT_TRUE(contains(e, "pickle")) << e;
        EXPECT_TRUE(contains(e, "safetensors")) << e;  // says what to do
        EXPECT_FALSE(fs::exists(fs::path(m) / "pwned"));
    }
}

TEST(UnsafeInput, PickleAdapterIsRefused) {
    peft::test::TempDir d;
    fs::path a = fs::path(d.path()) / "adapter";
    fs::create_directories(a);
    std::ofstream(a / "adapter_config.json") << R"({"peft_type": "LORA", "r": 4, "target_modules": ["q_proj"]})";
    std::ofstream(a / "adapter_model.bin", std::ios::binary) << "\x80\x04.";
    peft::ModelOptions mo;
    auto lm = peft::loadModel(peft::test::fixture("tiny-llama/base"), mo);
    std::string e = errorOf([&] { peft::loadAdapter(*lm.model, a.string()); });
    EXPECT_TRUE(contains(e, "adapter_model.bin")) << e;
    EXPECT_TRUE(contains(e, "pickle")) << e;
}

TEST(UnsafeInput, ShardIndexCannotLeaveTheModelFolder) {
    for (const char* shard :
         {"../outside.safetensors", "/etc/passwd", "sub/../../x.safetensors", "..", "a/b.safetensors"}) {
        peft::test::TempDir d;
        std::string m = modelFolderWithoutWeights(d);
        std::ofstream(fs::path(d.path()) / "outside.safetensors") << "x";
        json index = {{"metadata", json::object()}, {"weight_map", {{"model.embed_tokens.weight", shard}}}};
        std::ofstream(fs::path(m) / "model.safetensors.index.json") << index.dump();
        std::string e = errorOf([&] { peft::modelWeightFiles(m); });
        EXPECT_TRUE(contains(e, "outside the model folder")) << shard << ": " << e;
        EXPECT_TRUE(contains(e, "model.safetensors.index.json")) << e;
    }
}

TEST(UnsafeInput, SafetensorsTensorClaimingTerabytesIsRefused) {
    peft::test::TempDir d;
    // A valid small header whose tensor says it holds 4 TiB of data, in a file of a few bytes.
    const uint64_t tb4 = 4ull << 40;
    json h = {{"w", {{"dtype", "F32"}, {"shape", {1ull << 20, 1ull << 20}}, {"data_offsets", {0, tb4}}}}};
    writeRaw(d.file("big.safetensors"), h.dump(), std::string(16, '\0'));
    std::string e = errorOf([&] { peft::st::File::open(d.file("big.safetensors")); });
    EXPECT_TRUE(contains(e, "'w'")) << e;
    EXPECT_TRUE(contains(e, "outside the data section")) << e;
    e = errorOf([&] { peft::st::readHeader(d.file("big.safetensors")); });
    EXPECT_FALSE(e.empty());
}

TEST(UnsafeInput, SafetensorsShapeOverflowingInt64IsRefused) {
    // 2^62 * 3 fits in uint64 but not in int64 (what numel() and torch use); with a zero dimension
    // the byte count is 0, so only the shape check can catch it.
    peft::test::TempDir d;
    json h = {{"w", {{"dtype", "U8"}, {"shape", {1ull << 62, 3, 0}}, {"data_offsets", {0, 0}}}}};
    writeRaw(d.file("s.safetensors"), h.dump(), "");
    std::string e = errorOf([&] { peft::st::File::open(d.file("s.safetensors")); });
    EXPECT_TRUE(contains(e, "'w'")) << e;
    EXPECT_TRUE(contains(e, "overflows")) << e;
}

TEST(UnsafeInput, SafeFileNameRemovesTraversalAndSeparators) {
    using peft::safeFileName;
    EXPECT_EQ(safeFileName("my-adapter_v2"), "my-adapter_v2");
    EXPECT_EQ(safeFileName("../../etc/passwd"), "_.._etc_passwd");
    EXPECT_EQ(safeFileName(".."), "unnamed");
    EXPECT_EQ(safeFileName("."), "unnamed");
    EXPECT_EQ(safeFileName(""), "unnamed");
    EXPECT_EQ(safeFileName(".hidden"), "hidden");
    EXPECT_EQ(safeFileName("a/b\\c:d"), "a_b_c_d");
    EXPECT_EQ(safeFileName(std::string("nul\0byte", 8)), "nul_byte");
    EXPECT_EQ(safeFileName("line\nbreak\ttab"), "line_break_tab");
    EXPECT_EQ(safeFileName("CON"), "_CON");
    EXPECT_EQ(safeFileName("lpt1.txt"), "_lpt1.txt");
    EXPECT_EQ(safeFileName("name. "), "name");
    EXPECT_EQ(safeFileName("base_model.model.layers.0.q_proj.lora_A.weight"),
              "base_model.model.layers.0.q_proj.lora_A.weight");
    std::string longName;
    for (int i = 0; i < 60; ++i) longName += "\xc3\xa9";  // 120 bytes of "é"
    std::string cut = safeFileName(longName);
    EXPECT_LE(cut.size(), 100u);
    EXPECT_EQ(cut.size() % 2, 0u) << "cut inside a UTF-8 sequence";
    for (const std::string s : {"../x", "a/b", "..", "CON", ""}) {
        EXPECT_FALSE(peft::isSafeFileName(s)) << s;
        std::string safe = safeFileName(s);
        EXPECT_TRUE(peft::isSafeFileName(safe)) << safe;
        EXPECT_EQ(fs::path(safe).filename().string(), safe);
        EXPECT_NE(safe, "..");
    }
}

TEST(UnsafeInput, RelativePathsMustStayInside) {
    EXPECT_NO_THROW(peft::requireRelativeInside("model-00001-of-00002.safetensors", "index"));
    EXPECT_NO_THROW(peft::requireRelativeInside("sub/file.json", "index"));
    for (const char* bad : {"../x", "/etc/passwd", "a/../../b", "..", "", "a\\..\\b"}) {
        std::string e = errorOf([&] { peft::requireRelativeInside(bad, "index.json"); });
        EXPECT_TRUE(contains(e, "index.json")) << bad << ": " << e;
        EXPECT_TRUE(contains(e, "refused") || contains(e, "empty")) << bad << ": " << e;
    }
}
