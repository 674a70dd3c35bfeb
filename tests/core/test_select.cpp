// Importance scores and module selection (core/select) on the tiny fixture models: hook-reduced
// gradients equal autograd's, scores are deterministic, the budget is honoured exactly, a module
// that alone decides the loss ranks first, and `rank-modules --json` parses.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <set>

#include "core/data/batcher.h"
#include "core/data/prepare.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/peft/method_spec.h"
#include "core/peft/target_match.h"
#include "core/select/importance.h"
#include "core/select/selection.h"
#include "core/tokenizer/tokenizer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

using namespace peft;
using select::ImportanceMethod;

namespace {

const char* kWords[] = {"red", "green", "blue", "apple", "river", "stone", "cloud", "quick", "seven", "lamp"};

std::string writeDataset(const peft::test::TempDir& d, int rows) {
    std::string path = d.file("data.jsonl");
    std::ofstream f(path);
    for (int i = 0; i < rows; ++i) {
        std::string text = "The " + std::string(kWords[i % 10]) + " " + kWords[(i * 3 + 1) % 10] + " is number " +
            std::to_string(i) + " and " + kWords[(i * 7 + 2) % 10] + ".";
        for (int k = 0; k < i % 3; ++k) text += std::string(" ") + kWords[(i + k) % 10];
        f << nlohmann::json({{"text", text}}).dump() << "\n";
    }
    return path;
}

struct Fixture {
    LoadedModel lm;
    data::PreparedDataset pd;
};

Fixture load(const std::string& family, const peft::test::TempDir& d, int rows = 12) {
    Fixture f;
    const std::string dir = peft::test::fixture(family + "/base");
    f.lm = loadModel(dir);
    auto tok = Tokenizer::load(dir);
    data::DatasetConfig dc;
    dc.path = writeDataset(d, rows);
    dc.format = "text";
    dc.maxLength = 32;
    dc.validationSplit = 0.0;
    f.pd = data::prepareDataset(dc, tok.get());
    return f;
}

// Two batches of two rows: enough for every module to get a score on the tiny models.
select::ScoreOptions twoBatches() {
    select::ScoreOptions so;
    so.batches = 2;
    so.batchSize = 2;
    return so;
}
select::ImportanceReport scoreTwoBatches(Fixture& f) {
    return select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, twoBatches());
}

double relErr(double a, double b) { return std::abs(a - b) / std::max(1e-12, std::max(std::abs(a), std::abs(b))); }

// dL/dW of `path` by plain autograd for a batch, with L = sum_n l_n / rows (the scorer's loss).
torch::Tensor referenceGrad(CausalLMImpl& m, const std::string& path, const data::Batch& b) {
    Linear lin = m.linear(path);
    lin->weight.requires_grad_(true);
    lin->weight.mutable_grad() = torch::Tensor();
    torch::Tensor logits = m.forward(b.inputIds, b.attentionMask);
    const int64_t B = logits.size(0), T = logits.size(1), V = logits.size(2);
    torch::Tensor lb = b.labels.slice(1, 1, T);
    torch::Tensor ce = torch::nn::functional::cross_entropy(
                           logits.slice(1, 0, T - 1).reshape({-1, V}), lb.reshape({-1}),
                           torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone).ignore_index(-100))
                           .view({B, T - 1});
    torch::Tensor cnt = lb.ne(-100).sum(1);
    torch::Tensor per = ce.sum(1) / cnt.clamp_min(1).to(torch::kFloat32);
    const double rows = static_cast<double>(cnt.gt(0).sum().item<int64_t>());
    (per.sum() / rows).backward();
    torch::Tensor g = lin->weight.grad().detach().clone();
    lin->weight.requires_grad_(false);
    lin->weight.mutable_grad() = torch::Tensor();
    return lin->conv1d() ? g.t() : g;  // [out,in]
}

void checkAgainstAutograd(const std::string& family) {
    peft::test::TempDir d;
    Fixture f = load(family, d, 6);
    select::ScoreOptions so;
    so.batches = 1;
    so.batchSize = 3;
    so.seed = 5;
    select::ImportanceReport rep = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    ASSERT_EQ(rep.batches, 1);
    ASSERT_EQ(rep.examples, 3);

    // The scorer's first batch: same examples, same seed, same order.
    data::BatcherOptions bo;
    bo.batchSize = 3;
    bo.seed = 5;
    bo.padId = f.pd.padId;
    data::Batcher batcher(std::make_shared<const std::vector<data::PreparedExample>>(f.pd.train), bo);
    data::Batch batch = batcher.next();
    std::vector<int64_t> order = batcher.epochOrder(0);

    f.lm.model->eval();
    for (const auto& ms : rep.modules) {
        torch::Tensor g = referenceGrad(*f.lm.model, ms.path, batch);
        torch::Tensor w = f.lm.model->linear(ms.path)->denseWeight();
        EXPECT_LT(relErr(ms.gradNorm, g.norm().item<double>()), 1e-4) << ms.path;
        EXPECT_LT(relErr(ms.taylor, (w * g).abs().sum().item<double>()), 1e-4) << ms.path;
        // Fisher: each example alone, its own mean-token-loss gradient.
        double fisher = 0;
        for (int k = 0; k < 3; ++k) {
            data::Batch one =
                data::Batcher::collate({&f.pd.train[static_cast<size_t>(order[static_cast<size_t>(k)])]}, f.pd.padId);
            fisher += referenceGrad(*f.lm.model, ms.path, one).square().sum().item<double>();
        }
        EXPECT_LT(relErr(ms.fisher, fisher / 3.0), 1e-3) << ms.path;
        EXPECT_GT(ms.gradNorm, 0) << ms.path;
    }
    // The model is left as it was: no adapters, no grad-requiring parameters.
    for (const auto& [path, lin] : f.lm.model->linears()) EXPECT_FALSE(lin->hasAdapter("default")) << path;
    for (const auto& p : f.lm.model->parameters()) EXPECT_FALSE(p.requires_grad());
}

}  // namespace

TEST(Importance, MatchesAutogradLlama) { checkAgainstAutograd("tiny-llama"); }
TEST(Importance, MatchesAutogradGpt2Conv1D) { checkAgainstAutograd("tiny-gpt2"); }
TEST(Importance, MatchesAutogradQwen3) { checkAgainstAutograd("tiny-qwen3"); }
TEST(Importance, MatchesAutogradPhi3FusedProjections) { checkAgainstAutograd("tiny-phi3"); }
TEST(Importance, MatchesAutogradGemma3) { checkAgainstAutograd("tiny-gemma3"); }

TEST(Importance, DeterministicForASeed) {
    peft::test::TempDir d;
    Fixture f = load("tiny-llama", d, 16);
    select::ScoreOptions so = twoBatches();
    so.seed = 11;
    auto a = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    auto b = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    so.seed = 12;
    auto c = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    ASSERT_EQ(a.modules.size(), 14u);  // 2 layers x 7 projections
    bool anyDiffers = false;
    for (size_t i = 0; i < a.modules.size(); ++i) {
        EXPECT_EQ(a.modules[i].gradNorm, b.modules[i].gradNorm) << a.modules[i].path;
        EXPECT_EQ(a.modules[i].taylor, b.modules[i].taylor) << a.modules[i].path;
        EXPECT_EQ(a.modules[i].fisher, b.modules[i].fisher) << a.modules[i].path;
        anyDiffers |= a.modules[i].gradNorm != c.modules[i].gradNorm;
    }
    EXPECT_TRUE(anyDiffers) << "another seed scores other batches";
    EXPECT_EQ(a.toJson().dump(), b.toJson().dump());
    // Layer scores aggregate module scores.
    for (const auto& l : a.layers) {
        double t = 0, fi = 0, sq = 0;
        for (const auto& m : a.modules)
            if (m.layer == l.layer) t += m.taylor, fi += m.fisher, sq += m.gradNorm * m.gradNorm;
        EXPECT_NEAR(l.taylor, t, 1e-9 * t);
        EXPECT_NEAR(l.fisher, fi, 1e-9 * fi);
        EXPECT_GT(l.gradNorm, 0);
    }
}

// Only layer 1's MLP sees a non-zero input (every other norm weight is zero, so the other
// sublayers get exact-zero inputs); with up_proj zeroed too, only up_proj's weight has a
// gradient: it alone can change the loss to first order.
TEST(Importance, TheModuleThatDecidesRanksFirst) {
    peft::test::TempDir d;
    Fixture f = load("tiny-llama", d, 8);
    {
        torch::NoGradGuard ng;
        for (auto& p : f.lm.model->named_parameters()) {
            const std::string& k = p.key();
            if (k.find("layernorm") != std::string::npos && k != "model.layers.1.post_attention_layernorm.weight")
                p.value().zero_();
        }
    }
    const select::ScoreOptions so = twoBatches();
    // First: the whole of layer 1's MLP is live; every method puts its three modules on top.
    auto rep = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    const std::set<std::string> mlp1 = {"model.layers.1.mlp.gate_proj", "model.layers.1.mlp.up_proj",
                                        "model.layers.1.mlp.down_proj"};
    for (auto method : {ImportanceMethod::GradNorm, ImportanceMethod::Taylor, ImportanceMethod::Fisher}) {
        auto r = rep.ranking(method);
        std::set<std::string> top = {rep.modules[r[0]].path, rep.modules[r[1]].path, rep.modules[r[2]].path};
        EXPECT_EQ(top, mlp1) << select::importanceMethodName(method);
        for (size_t i = 3; i < r.size(); ++i) EXPECT_EQ(rep.modules[r[i]].score(method), 0.0) << rep.modules[r[i]].path;
        EXPECT_GT(rep.modules[r[2]].score(method), 0.0);
        EXPECT_GT(rep.layers[1].score(method), 0.0);
        EXPECT_EQ(rep.layers[0].score(method), 0.0);
    }
    {
        torch::NoGradGuard ng;
        f.lm.model->linear("model.layers.1.mlp.up_proj")->weight.zero_();
    }
    rep = select::scoreModules(*f.lm.model, f.pd.train, f.pd.padId, so);
    for (auto method : {ImportanceMethod::GradNorm, ImportanceMethod::Fisher}) {
        auto r = rep.ranking(method);
        EXPECT_EQ(rep.modules[r[0]].path, "model.layers.1.mlp.up_proj") << select::importanceMethodName(method);
        EXPECT_GT(rep.modules[r[0]].score(method), 0.0);
        for (size_t i = 1; i < r.size(); ++i) EXPECT_EQ(rep.modules[r[i]].score(method), 0.0) << rep.modules[r[i]].path;
    }
    // Selection from it: top-1 is that module.
    select::SelectionOptions o;
    o.topK = 1;
    auto s = select::selectModules(rep, f.lm.model->config(), o);
    ASSERT_EQ(s.targetModules.size(), 1u);
    EXPECT_EQ(s.targetModules[0], "model.layers.1.mlp.up_proj");
}

TEST(Selection, HonoursTheBudgetExactly) {
    peft::test::TempDir d;
    Fixture f = load("tiny-llama", d, 8);
    auto rep = scoreTwoBatches(f);
    const ModelConfig& mc = f.lm.model->config();
    const MethodSpec& lora = methodSpec("LORA");
    for (int64_t budget : {3000LL, 7777LL, 20000LL, 54321LL}) {
        for (auto method : {ImportanceMethod::GradNorm, ImportanceMethod::Taylor, ImportanceMethod::Fisher}) {
            select::SelectionOptions o;
            o.method = method;
            o.budget = budget;
            o.r = 4;
            o.alpha = 8;
            auto s = select::selectModules(rep, mc, o);
            ASSERT_FALSE(s.targetModules.empty());
            EXPECT_LE(s.trainable, budget);
            EXPECT_EQ(s.trainable, lora.count(mc, s.adapterConfig).trainable);
            // Every module left out would break the budget if added.
            std::set<std::string> in(s.targetModules.begin(), s.targetModules.end());
            for (const auto& m : rep.modules) {
                if (in.count(m.path)) continue;
                nlohmann::json c = s.adapterConfig;
                c["target_modules"].push_back(m.path);
                EXPECT_GT(lora.count(mc, c).trainable, budget) << m.path << " fits in " << budget;
            }
            // Best-first: the first selected module is the best-ranked one that fits alone.
            EXPECT_EQ(s.modules.front().score, [&] {
                for (size_t i : rep.ranking(method))
                    if (4 * (rep.modules[i].in + rep.modules[i].out) <= budget) return rep.modules[i].score(method);
                return -1.0;
            }());

            // Rank allocation spends the same budget: integer ranks >= 1, keys are full paths.
            o.allocateRanks = true;
            auto sa = select::selectModules(rep, mc, o);
            EXPECT_EQ(sa.targetModules, s.targetModules);
            EXPECT_LE(sa.trainable, budget);
            EXPECT_EQ(sa.trainable, lora.count(mc, sa.adapterConfig).trainable);
            int64_t sum = 0;
            for (const auto& m : sa.modules) {
                EXPECT_GE(m.rank, 1);
                sum += m.params;
            }
            EXPECT_EQ(sum, sa.trainable);
            for (auto it = sa.rankPattern.begin(); it != sa.rankPattern.end(); ++it) {
                EXPECT_TRUE(it.value().is_number_integer()) << it.key();
                EXPECT_TRUE(in.count(it.key())) << it.key();
            }
            // Same shape, higher score: never a lower rank.
            for (const auto& a : sa.modules)
                for (const auto& b : sa.modules)
                    if (a.params / a.rank == b.params / b.rank && a.score > b.score) {
                        EXPECT_GE(a.rank, b.rank) << a.path << " vs " << b.path;
                    }
            // The config attaches and trains exactly the counted parameters.
            auto m2 = loadModel(peft::test::fixture("tiny-llama/base"));
            Adapter ad = attachAdapter(*m2.model, sa.adapterConfig);
            int64_t n = 0;
            for (const auto& t : ad.method->trainable()) n += t.second.numel();
            EXPECT_EQ(n, sa.trainable);
            for (const auto& sm : sa.modules) {
                auto t = ad.method->trainable();
                bool found = false;
                for (const auto& [k, v] : t)
                    if (k.find(sm.path + ".lora_A") != std::string::npos) {
                        EXPECT_EQ(v.size(0), sm.rank) << k;
                        found = true;
                    }
                EXPECT_TRUE(found) << sm.path;
            }
        }
    }
    select::SelectionOptions tiny;
    tiny.budget = 10;
    EXPECT_THROW(select::selectModules(rep, mc, tiny), PeftError);
}

TEST(Selection, TopKAndThreshold) {
    peft::test::TempDir d;
    Fixture f = load("tiny-gpt2", d, 8);
    auto rep = scoreTwoBatches(f);
    ASSERT_EQ(rep.modules.size(), 8u);  // 2 layers x (c_attn, c_proj, c_fc, mlp.c_proj)
    select::SelectionOptions o;
    o.method = ImportanceMethod::Taylor;
    o.topK = 3;
    auto s = select::selectModules(rep, f.lm.model->config(), o);
    auto r = rep.ranking(ImportanceMethod::Taylor);
    ASSERT_EQ(s.targetModules.size(), 3u);
    for (size_t i = 0; i < 3; ++i) EXPECT_EQ(s.targetModules[i], rep.modules[r[i]].path);
    EXPECT_EQ(s.adapterConfig["peft_type"], "LORA");
    EXPECT_EQ(s.adapterConfig["r"], 8);
    EXPECT_TRUE(s.rankPattern.empty());

    o.topK = 0;
    o.threshold = 0.5;
    s = select::selectModules(rep, f.lm.model->config(), o);
    const double best = rep.modules[r[0]].taylor;
    size_t expected = 0;
    for (const auto& m : rep.modules) expected += m.taylor >= 0.5 * best;
    EXPECT_EQ(s.targetModules.size(), expected);
    o.threshold = 1.5;
    EXPECT_THROW(select::selectModules(rep, f.lm.model->config(), o), PeftError);
}

namespace {
using peft::test::CliResult;
CliResult runCli(const std::string& args) { return peft::test::runCli(args, false); }
}  // namespace

TEST(RankModulesCli, JsonParsesAndMatchesTheLibrary) {
    peft::test::TempDir d;
    const std::string data = writeDataset(d, 10);
    const std::string model = peft::test::fixture("tiny-llama/base");
    CliResult r =
        runCli("rank-modules --model " + model + " --dataset " + data +
               " --format text --max-length 32 --batches 2 --batch-size 2 --method fisher --budget 20000 --r 4"
               " --allocate-ranks --device cpu --json --out " +
               d.file("adapter_config.json"));
    ASSERT_EQ(r.rc, 0) << r.out;
    nlohmann::json j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["method"], "fisher");
    EXPECT_EQ(j["scores"]["modules"].size(), 14u);
    EXPECT_EQ(j["scores"]["batches"], 2);
    const auto& sel = j["selection"];
    EXPECT_LE(sel["trainable_params"].get<int64_t>(), 20000);
    EXPECT_FALSE(sel["target_modules"].empty());
    EXPECT_EQ(sel["adapter_config"]["target_modules"], sel["target_modules"]);
    EXPECT_EQ(sel["adapter_config"]["rank_pattern"], sel["rank_pattern"]);
    // The written adapter config is the same and passes the LoRA spec.
    std::ifstream in(d.file("adapter_config.json"));
    nlohmann::json cfg = nlohmann::json::parse(in);
    EXPECT_EQ(cfg, sel["adapter_config"]);
    auto lm = loadModel(model);
    EXPECT_EQ(methodSpec("LORA").count(lm.model->config(), cfg).trainable, sel["trainable_params"].get<int64_t>());

    // The library, run the same way, ranks the same.
    auto tok = Tokenizer::load(model);
    data::DatasetConfig dc;
    dc.path = data;
    dc.format = "text";
    dc.maxLength = 32;
    dc.validationSplit = 0.0;
    auto pd = data::prepareDataset(dc, tok.get());
    auto rep = select::scoreModules(*lm.model, pd.train, pd.padId, twoBatches());
    for (size_t i = 0; i < rep.modules.size(); ++i)
        EXPECT_LT(relErr(rep.modules[i].fisher, j["scores"]["modules"][i]["fisher"].get<double>()), 1e-9);

    CliResult text = runCli("rank-modules --model " + model + " --dataset " + data +
                            " --format text --batches 1 --top-k 2 --device cpu");
    ASSERT_EQ(text.rc, 0) << text.out;
    EXPECT_NE(text.out.find("target_modules: [\"model.layers."), std::string::npos) << text.out;
    CliResult bad = runCli("rank-modules --model " + model + " --dataset " + data + " --method magic");
    EXPECT_EQ(bad.rc, 1);
}
