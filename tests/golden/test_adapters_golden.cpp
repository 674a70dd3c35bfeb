// Every fixture adapter: load base + adapter, reproduce peft's logits within 1e-4, save again with
// the same keys, shapes and values; merge/unmerge, disable, and two adapters on one base.
#include <filesystem>
#include <fstream>

#include "core/io/model_config.h"
#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
namespace fs = std::filesystem;

namespace {

struct Case {
    std::string model;    // "tiny-gpt2"
    std::string adapter;  // "lora-qv-r4"
};

std::string caseName(const testing::TestParamInfo<Case>& i) {
    std::string n = i.param.model + "_" + i.param.adapter;
    for (auto& c : n)
        if (!isalnum(static_cast<unsigned char>(c))) c = '_';
    return n;
}

std::vector<Case> allCases() {
    std::vector<Case> out;
    for (const char* m : {"tiny-gpt2", "tiny-llama", "tiny-llama3-rope"}) {
        fs::path d = test::fixture(std::string(m) + "/adapters");
        if (!fs::is_directory(d)) continue;
        std::vector<std::string> names;
        for (const auto& e : fs::directory_iterator(d)) names.push_back(e.path().filename().string());
        std::sort(names.begin(), names.end());
        for (const auto& n : names) out.push_back({m, n});
    }
    return out;
}

struct Loaded {
    CausalLM model;
    Adapter adapter;
    std::map<std::string, torch::Tensor> ref;
};

Loaded load(const Case& c) {
    Loaded l;
    l.model = loadModel(test::fixture(c.model + "/base")).model;
    const std::string dir = test::fixture(c.model + "/adapters/" + c.adapter);
    std::string summary = dir + "/summary.json";
    if (fs::exists(summary)) {
        auto s = readJsonFile(summary);
        if (s.contains("pad_token_id")) l.model->setPadTokenId(s["pad_token_id"].get<int64_t>());
    }
    l.adapter = loadAdapter(*l.model, dir);
    l.ref = loadSafetensors(dir + "/reference.safetensors");
    return l;
}

torch::Tensor run(Loaded& l) {
    torch::NoGradGuard ng;
    torch::Tensor mask = l.ref.count("attention_mask") ? l.ref.at("attention_mask") : torch::Tensor();
    if (l.model->classification()) return l.model->classify(l.ref.at("input_ids"), mask);
    return l.model->forward(l.ref.at("input_ids"), mask);
}

double maxDiff(const torch::Tensor& a, const torch::Tensor& b) {
    EXPECT_EQ(a.sizes(), b.sizes());
    if (a.sizes() != b.sizes()) return 1e9;
    return (a - b).abs().max().item<double>();
}

class AdapterGolden : public testing::TestWithParam<Case> {};

TEST_P(AdapterGolden, ReproducesLogits) {
    Loaded l = load(GetParam());
    double d = maxDiff(run(l), l.ref.at("logits"));
    std::cout << "[golden] " << GetParam().model << "/" << GetParam().adapter << " max|diff| = " << d << "\n";
    EXPECT_LT(d, 1e-4);
}

TEST_P(AdapterGolden, SavesSameKeysShapesValues) {
    Loaded l = load(GetParam());
    test::TempDir tmp;
    saveAdapter(l.adapter, tmp.path());
    auto orig = loadSafetensors(
        test::fixture(GetParam().model + "/adapters/" + GetParam().adapter + "/adapter_model.safetensors"));
    auto mine = loadSafetensors(tmp.file("adapter_model.safetensors"));
    ASSERT_EQ(orig.size(), mine.size());
    for (const auto& [k, t] : orig) {
        ASSERT_TRUE(mine.count(k)) << "missing " << k;
        EXPECT_EQ(mine.at(k).sizes(), t.sizes()) << k;
        EXPECT_LT((mine.at(k) - t).abs().max().item<double>(), 1e-6) << k;
    }
    // The saved folder loads again (peft-compatible config) and gives the same logits.
    auto cfg = readJsonFile(tmp.file("adapter_config.json"));
    auto origCfg =
        readJsonFile(test::fixture(GetParam().model + "/adapters/" + GetParam().adapter + "/adapter_config.json"));
    EXPECT_EQ(cfg["peft_type"], origCfg["peft_type"]);
    // Every field peft wrote comes back with its value (peft's whole key set, peft_version included).
    EXPECT_EQ(cfg, origCfg) << "saved:\n" << cfg.dump(1);
    Loaded again;
    again.model = loadModel(test::fixture(GetParam().model + "/base")).model;
    again.model->setPadTokenId(l.model->config().padTokenId);
    again.adapter = loadAdapter(*again.model, tmp.path());
    again.ref = l.ref;
    EXPECT_LT(maxDiff(run(again), l.ref.at("logits")), 1e-4);
}

TEST_P(AdapterGolden, MergeUnmergeDisable) {
    Loaded l = load(GetParam());
    if (!l.adapter.method->canMerge()) GTEST_SKIP() << "not mergeable (by design)";
    torch::Tensor unmerged = run(l);
    l.adapter.method->merge();
    double dm = maxDiff(run(l), unmerged);
    std::cout << "[merge] " << GetParam().model << "/" << GetParam().adapter << " merged vs unmerged " << dm << "\n";
    EXPECT_LT(dm, 1e-4);
    l.adapter.method->unmerge();
    EXPECT_LT(maxDiff(run(l), unmerged), 1e-5);
    if (l.model->classification()) return;
    l.model->adapterState()->enabled = false;
    auto base = loadSafetensors(test::fixture(GetParam().model + "/base_reference.safetensors"));
    EXPECT_LT(maxDiff(run(l), base.at("logits")), 1e-4);
    l.model->adapterState()->enabled = true;
    EXPECT_LT(maxDiff(run(l), unmerged), 1e-6);
}

TEST_P(AdapterGolden, DisableGivesBase) {
    Loaded l = load(GetParam());
    if (l.model->classification()) GTEST_SKIP() << "no base logits for the classifier";
    l.model->adapterState()->enabled = false;
    auto base = loadSafetensors(test::fixture(GetParam().model + "/base_reference.safetensors"));
    torch::NoGradGuard ng;
    EXPECT_LT(maxDiff(l.model->forward(base.at("input_ids")), base.at("logits")), 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, AdapterGolden, testing::ValuesIn(allCases()), caseName);

TEST(AdapterGoldenExtra, EveryFixtureAdapterIsCovered) {
    // 7 GPT-2, 8 Llama (with seqcls), 1 Llama-3 RoPE.
    EXPECT_EQ(allCases().size(), 16u);
}

TEST(AdapterGoldenExtra, TwoAdaptersOneBaseSwitching) {
    for (const char* m : {"tiny-gpt2", "tiny-llama"}) {
        auto model = loadModel(test::fixture(std::string(m) + "/base")).model;
        const std::string ad = test::fixture(std::string(m) + "/adapters/");
        Adapter a = loadAdapter(*model, ad + "lora-qv-r4", "a");
        Adapter b = loadAdapter(*model, ad + "ia3", "b");
        Adapter c = loadAdapter(*model, ad + "prefix-tuning-5", "c");
        auto refA = loadSafetensors(ad + "lora-qv-r4/reference.safetensors");
        auto refB = loadSafetensors(ad + "ia3/reference.safetensors");
        auto refC = loadSafetensors(ad + "prefix-tuning-5/reference.safetensors");
        torch::NoGradGuard ng;
        for (int round = 0; round < 2; ++round) {
            model->adapterState()->active = "a";
            EXPECT_LT(maxDiff(model->forward(refA.at("input_ids")), refA.at("logits")), 1e-4) << m;
            model->adapterState()->active = "b";
            EXPECT_LT(maxDiff(model->forward(refB.at("input_ids")), refB.at("logits")), 1e-4) << m;
            model->adapterState()->active = "c";
            EXPECT_LT(maxDiff(model->forward(refC.at("input_ids")), refC.at("logits")), 1e-4) << m;
        }
    }
}

TEST(AdapterGoldenExtra, MismatchedAdapterIsAnErrorNamingTheKey) {
    // A GPT-2 adapter on the Llama base: target_modules match nothing.
    auto llama = loadModel(test::fixture("tiny-llama/base")).model;
    try {
        loadAdapter(*llama, test::fixture("tiny-gpt2/adapters/lora-qv-r4"));
        FAIL() << "expected PeftError";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("target_modules"), std::string::npos) << e.what();
    }
    // Shapes that disagree: the Llama prefix adapter on the Llama-3 RoPE model (other kv width).
    auto rope = loadModel(test::fixture("tiny-llama3-rope/base")).model;
    EXPECT_THROW(loadAdapter(*rope, test::fixture("tiny-llama/adapters/prefix-tuning-5")), PeftError);
    // A shape mismatch on a LoRA tensor names the key.
    test::TempDir tmp;
    fs::copy_file(test::fixture("tiny-llama/adapters/lora-qv-r4/adapter_config.json"), tmp.file("adapter_config.json"));
    auto t = loadSafetensors(test::fixture("tiny-llama/adapters/lora-qv-r4/adapter_model.safetensors"));
    std::vector<std::pair<std::string, torch::Tensor>> bad(t.begin(), t.end());
    bad[0].second = torch::zeros({3, 64});
    saveSafetensors(tmp.file("adapter_model.safetensors"), bad);
    auto fresh = loadModel(test::fixture("tiny-llama/base")).model;
    try {
        loadAdapter(*fresh, tmp.path());
        FAIL() << "expected PeftError";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find(bad[0].first), std::string::npos) << e.what();
    }
    // An unexpected key is an error too.
    bad[0].second = t.at(bad[0].first);
    bad.emplace_back("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", torch::zeros({4, 64}));
    saveSafetensors(tmp.file("adapter_model.safetensors"), bad);
    auto fresh2 = loadModel(test::fixture("tiny-llama/base")).model;
    EXPECT_THROW(loadAdapter(*fresh2, tmp.path()), PeftError);
}

}  // namespace
