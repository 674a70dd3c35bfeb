// Golden parameter counts: every row of param-counts/expected.json and every tiny adapter's
// trainable/all counts in summary.json, computed from config.json + adapter_config.json alone,
// must equal HF peft's get_nb_trainable_parameters() exactly. Adapter file sizes must equal the
// fixture files' sizes byte for byte.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#include "tests/test_util.h"

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

TEST(ParamCounts, EveryExpectedRow) {
    const json rows = peft::readJsonFile(peft::test::fixture("param-counts/expected.json"));
    ASSERT_TRUE(rows.is_array());
    ASSERT_GE(rows.size(), 27u);
    for (const auto& row : rows) {
        SCOPED_TRACE(row["model_config"].get<std::string>() + " / " + row["method"].get<std::string>());
        const peft::ModelConfig mc =
            peft::ModelConfig::load(peft::test::fixture("param-counts/" + row["model_config"].get<std::string>()));
        const json& cfg = row["peft_config"];
        const peft::MethodSpec& spec = peft::methodSpec(peft::peftTypeOf(cfg, "expected.json"));
        const peft::ParamReport r = spec.count(mc, cfg);
        EXPECT_EQ(r.trainable, row["trainable_params"].get<int64_t>());
        EXPECT_EQ(r.total(), row["total_params"].get<int64_t>());
        // The breakdowns add up to the total trainable count.
        int64_t byLayer = r.outsideLayers, byModule = 0;
        for (int64_t v : r.byLayer) byLayer += v;
        for (const auto& [k, v] : r.byModule) byModule += v;
        EXPECT_EQ(byLayer, r.trainable);
        EXPECT_EQ(byModule, r.trainable);
    }
}

struct TinyCase {
    const char* model;
    const char* adapter;
};

void checkAdapter(const std::string& model, const std::string& adapter, const json& expected, int64_t numLabels) {
    SCOPED_TRACE(model + "/" + adapter);
    peft::ModelConfig mc = peft::ModelConfig::load(peft::test::fixture(model + "/base"));
    if (numLabels > 0) mc.numLabels = numLabels;
    const std::string dir = peft::test::fixture(model + "/adapters/" + adapter);
    const json cfg = peft::readJsonFile(dir + "/adapter_config.json");
    const peft::MethodSpec& spec = peft::methodSpec(peft::peftTypeOf(cfg, dir));
    const peft::ParamReport r = spec.count(mc, cfg);
    EXPECT_EQ(r.trainable, expected["trainable"].get<int64_t>());
    EXPECT_EQ(r.total(), expected["all"].get<int64_t>());
    // The saved tensors reproduce the adapter file's size exactly (header and data).
    EXPECT_EQ(spec.adapterBytes(mc, cfg), fs::file_size(dir + "/adapter_model.safetensors"));
}

TEST(ParamCounts, TinyAdaptersMatchSummary) {
    int checked = 0;
    for (const std::string model : {"tiny-gpt2", "tiny-llama"}) {
        const json summary = peft::readJsonFile(peft::test::fixture(model + "/summary.json"));
        for (auto it = summary["adapters"].begin(); it != summary["adapters"].end(); ++it) {
            checkAdapter(model, it.key(), it.value(), 0);
            ++checked;
        }
    }
    EXPECT_EQ(checked, 14);
}

TEST(ParamCounts, SequenceClassificationCountsTheScoreHeadCopy) {
    // peft wraps `score` in modules_to_save: the original stays (frozen) and a trained copy is added.
    const json s = peft::readJsonFile(peft::test::fixture("tiny-llama/adapters/seqcls-lora-qv-r4/summary.json"));
    checkAdapter("tiny-llama", "seqcls-lora-qv-r4", s, s["num_labels"].get<int64_t>());
}

TEST(ParamCounts, Llama3RopeAdapterFileSize) {
    const std::string dir = peft::test::fixture("tiny-llama3-rope/adapters/lora-all-r4");
    const peft::ModelConfig mc = peft::ModelConfig::load(peft::test::fixture("tiny-llama3-rope/base"));
    const json cfg = peft::readJsonFile(dir + "/adapter_config.json");
    EXPECT_EQ(peft::methodSpec("LORA").adapterBytes(mc, cfg), fs::file_size(dir + "/adapter_model.safetensors"));
}

}  // namespace
