// Qwen3, Phi-3 and Gemma 3 (text) against ../shared/fixtures/tiny-{qwen3,phi3,gemma3}. Those
// references come from independent float64 forwards written from the published architectures and
// cross-checked token for token against the real llama.cpp (fixtures/README.md); the llama.cpp
// architectures were qwen3, phi3 and gemma3. Checked here: logits within 1e-4, greedy continuations
// through the KV cache equal summary.json's (Gemma 3's window of 4 is shorter than every sequence),
// the cache agrees with a full pass, bf16 runs close, the parameter count equals the loaded tensors,
// a LoRA run lowers the loss, and a merged LoRA gives the unmerged logits.
#include "core/io/architecture.h"
#include "core/io/tensor_io.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "tests/test_util.h"

using namespace peft;
using json = nlohmann::json;

namespace {

const char* kFamilies[] = {"tiny-qwen3", "tiny-phi3", "tiny-gemma3"};

torch::Tensor referenceIds(const std::string& m) {
    return loadSafetensors(test::fixture(m + "/base_reference.safetensors")).at("input_ids");
}

// Max-abs logits error against the reference; `relative`: divided by the reference's max |logit|.
double logitsError(const std::string& m, const ModelOptions& o = {}, bool relative = false) {
    auto lm = loadModel(test::fixture(m + "/base"), o);
    auto ref = loadSafetensors(test::fixture(m + "/base_reference.safetensors"));
    torch::NoGradGuard ng;
    torch::Tensor logits = lm.model->forward(ref.at("input_ids")).to(torch::kFloat32);
    EXPECT_EQ(logits.sizes(), ref.at("logits").sizes());
    const double err = (logits - ref.at("logits")).abs().max().item<double>();
    return relative ? err / ref.at("logits").abs().max().item<double>() : err;
}

json loraAll() {
    return {
        {"peft_type", "LORA"}, {"r", 4}, {"lora_alpha", 8}, {"target_modules", "all-linear"}, {"lora_dropout", 0.0}};
}

torch::Tensor meanLoss(CausalLMImpl& m, const torch::Tensor& ids) {
    torch::Tensor logits = m.forward(ids);  // [B,T,V]
    const int64_t V = logits.size(-1), T = ids.size(1);
    return torch::nn::functional::cross_entropy(logits.slice(1, 0, T - 1).reshape({-1, V}),
                                                ids.slice(1, 1).reshape({-1}));
}

}  // namespace

TEST(FamilyGolden, Qwen3Logits) { EXPECT_LT(logitsError("tiny-qwen3"), 1e-4); }
TEST(FamilyGolden, Phi3Logits) { EXPECT_LT(logitsError("tiny-phi3"), 1e-4); }
TEST(FamilyGolden, Gemma3Logits) { EXPECT_LT(logitsError("tiny-gemma3"), 1e-4); }

TEST(FamilyGolden, GreedyContinuationsEqualSummary) {
    for (const char* m : kFamilies) {
        auto lm = loadModel(test::fixture(std::string(m) + "/base"));
        const json s = readJsonFile(test::fixture(std::string(m) + "/summary.json"));
        ASSERT_EQ(s["greedy"].size(), 3u) << m;
        for (const auto& g : s["greedy"]) {
            GenerateOptions o;
            o.greedy = true;
            o.maxNewTokens = static_cast<int64_t>(g["ids"].size());
            o.stopIds = {-1};  // summary.json's continuations run their full length
            EXPECT_EQ(generateIds(*lm.model, g["prompt_ids"].get<std::vector<int64_t>>(), o),
                      g["ids"].get<std::vector<int64_t>>())
                << m << " prompt " << g["prompt_ids"].dump();
        }
    }
}

TEST(FamilyGolden, KvCacheMatchesFullForward) {
    for (const char* m : kFamilies) {
        auto lm = loadModel(test::fixture(std::string(m) + "/base"));
        torch::Tensor ids = referenceIds(m);
        torch::NoGradGuard ng;
        torch::Tensor full = lm.model->forward(ids);
        // A prompt of 3 (inside Gemma's window of 4), then one token at a time past the window,
        // then the rest at once.
        KVCache cache;
        std::vector<torch::Tensor> parts = {lm.model->forward(ids.slice(1, 0, 3), {}, &cache)};
        for (int64_t t = 3; t < 8; ++t) parts.push_back(lm.model->forward(ids.slice(1, t, t + 1), {}, &cache));
        parts.push_back(lm.model->forward(ids.slice(1, 8), {}, &cache));
        EXPECT_LT((torch::cat(parts, 1) - full).abs().max().item<double>(), 1e-4) << m;
    }
}

TEST(FamilyGolden, Bf16ForwardStaysClose) {
    ModelOptions o;
    o.dtype = torch::kBFloat16;
    // These references' logits reach |9|..|10| (tiny-llama's |0.65|): the bound is relative, 5% of
    // the largest logit (tiny-llama's 0.1 absolute is 15% of its own).
    for (const char* m : kFamilies) EXPECT_LT(logitsError(m, o, true), 0.05) << m;
}

TEST(FamilyGolden, ParamCountEqualsLoadedTensors) {
    for (const char* m : kFamilies) {
        auto lm = loadModel(test::fixture(std::string(m) + "/base"));
        int64_t n = 0;
        for (const auto& p : lm.model->parameters()) n += p.numel();
        EXPECT_EQ(baseParamCount(lm.model->config()), n) << m;
    }
}

TEST(FamilyGolden, LoraTrainingLowersTheLossAndMerges) {
    for (const char* m : kFamilies) {
        SCOPED_TRACE(m);
        torch::manual_seed(0);
        auto lm = loadModel(test::fixture(std::string(m) + "/base"));
        CausalLMImpl& model = *lm.model;
        torch::Tensor ids = referenceIds(m);
        Adapter a = attachAdapter(model, loraAll());
        std::vector<torch::Tensor> params;
        for (const auto& [n, t] : a.method->trainable()) params.push_back(t);
        ASSERT_FALSE(params.empty());
        torch::optim::AdamW opt(params, torch::optim::AdamWOptions(1e-2));
        model.train();
        double first = 0, last = 0;
        for (int step = 0; step < 8; ++step) {
            opt.zero_grad();
            torch::Tensor loss = meanLoss(model, ids);
            loss.backward();
            opt.step();
            (step == 0 ? first : last) = loss.item<double>();
        }
        model.eval();
        EXPECT_LT(last, first - 0.1);
        ASSERT_TRUE(a.method->canMerge());
        torch::NoGradGuard ng;
        torch::Tensor unmerged = model.forward(ids);
        a.method->merge();
        EXPECT_LT((model.forward(ids) - unmerged).abs().max().item<double>(), 1e-4);
        a.method->unmerge();
        EXPECT_LT((model.forward(ids) - unmerged).abs().max().item<double>(), 1e-4);
    }
}

// --- our own tiny models (tests/golden/families, make_tiny_families.py) -------------------------
// What the shared fixtures leave out: an untied Qwen3 lm_head, linear RoPE scaling on Gemma 3's
// global layer (the sliding ones unscaled), and Phi-3 longrope with partial rotary, both the short
// factors ([1,12], within the original context of 256) and the long ones ([1,264], past it). The
// references are independent float64 forwards; the generator checks that each feature moves the
// logits (by 2..29), so a forward that ignored it would fail here. test_gguf_llama_cpp checks the
// same models' greedy continuations in the real llama.cpp.

namespace {

const char* kOwnModels[] = {"qwen3-untied", "gemma3-rope-linear", "phi3-longrope"};

std::string ownModel(const std::string& name) { return peft::test::sourcePath("tests/golden/families/" + name); }

}  // namespace

TEST(FamilyGolden, OwnModelsLogits) {
    for (const char* m : kOwnModels) {
        auto lm = loadModel(ownModel(m));
        auto ref = loadSafetensors(ownModel(m) + "/reference.safetensors");
        int cases = 0;
        for (const char* c : {"short", "long"}) {
            if (!ref.count(std::string("ids_") + c)) continue;
            ++cases;
            torch::NoGradGuard ng;
            torch::Tensor logits = lm.model->forward(ref.at(std::string("ids_") + c)).to(torch::kFloat32);
            const torch::Tensor want = ref.at(std::string("logits_") + c);
            ASSERT_EQ(logits.sizes(), want.sizes()) << m << " " << c;
            EXPECT_LT((logits - want).abs().max().item<double>(), 1e-4) << m << " " << c;
        }
        EXPECT_EQ(cases, std::string(m) == "phi3-longrope" ? 2 : 1) << m;
    }
}

// Greedy generation through the KV cache follows the reference's greedy path (Phi-3: prompts
// within the original context keep the short factors, prompts past it take the long ones).
TEST(FamilyGolden, OwnModelsGreedyEqualsReference) {
    for (const char* m : kOwnModels) {
        auto lm = loadModel(ownModel(m));
        const json s = readJsonFile(ownModel(m) + "/summary.json");
        int runs = 0;
        for (const auto& [group, list] : s["greedy"].items())
            for (const auto& g : list) {
                ++runs;
                GenerateOptions o;
                o.greedy = true;
                o.maxNewTokens = static_cast<int64_t>(g["ids"].size());
                o.stopIds = {-1};
                EXPECT_EQ(generateIds(*lm.model, g["prompt_ids"].get<std::vector<int64_t>>(), o),
                          g["ids"].get<std::vector<int64_t>>())
                    << m << " " << group << " prompt " << g["prompt_ids"].dump();
            }
        EXPECT_GE(runs, 3) << m;
    }
}
