// Preference tuning: the DPO, ORPO and SimPO losses against their formulas evaluated directly on
// hand-made log-probabilities; the "objective" config; the four preference dataset forms, their
// rendering, masking, truncation and rejections; pair batches; the reference model (adapter
// switched off, or a frozen copy); gradient accumulation, precomputed reference log-probs, bf16,
// QLoRA; and the errors for a preference objective on the wrong data.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/budget/preference_budget.h"
#include "core/data/batcher.h"
#include "core/data/prepare.h"
#include "core/io/model_config.h"
#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/objectives/preference.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace peft;

using peft::test::errorOf;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::unique_ptr<PreferenceObjective> preferenceObjective(const json& cfg) {
    std::unique_ptr<Objective> o = makeObjective(resolveObjectiveConfig(cfg, "test"), false);
    auto* p = dynamic_cast<PreferenceObjective*>(o.get());
    EXPECT_NE(p, nullptr);
    o.release();
    return std::unique_ptr<PreferenceObjective>(p);
}

// Hand-made log-probabilities of three pairs.
struct Pairs {
    std::vector<double> pc = {-10.0, -4.5, -7.25}, pr = {-9.0, -8.0, -7.0};  // log π, summed
    std::vector<double> nc = {5, 3, 4}, nr = {4, 6, 2};                      // answer tokens
    std::vector<double> rc = {-9.5, -5.0, -7.5}, rr = {-9.2, -7.1, -6.0};    // log ref, summed
    double nll() const { return -(pc[0] + pc[1] + pc[2]) / (nc[0] + nc[1] + nc[2]); }
    PairLogps tensors() const {
        auto t = [](const std::vector<double>& v) { return torch::tensor(std::vector<float>(v.begin(), v.end())); };
        PairLogps x;
        x.chosen = t(pc);
        x.rejected = t(pr);
        x.chosenTokens = t(nc);
        x.rejectedTokens = t(nr);
        x.refChosen = t(rc);
        x.refRejected = t(rr);
        x.chosenNll = -x.chosen.sum() / x.chosenTokens.sum();
        return x;
    }
};

double logSigmoid(double z) { return z >= 0 ? -std::log1p(std::exp(-z)) : z - std::log1p(std::exp(z)); }
double valueAt(const torch::Tensor& t, int64_t i) { return t[i].item<double>(); }

}  // namespace

// ---- the losses against their formulas --------------------------------------------------------

TEST(PreferenceLoss, DpoMatchesTheFormulaWithAndWithoutLabelSmoothing) {
    Pairs p;
    for (double eps : {0.0, 0.2}) {
        const double beta = 0.3;
        auto obj = preferenceObjective({{"type", "dpo"}, {"beta", beta}, {"label_smoothing", eps}});
        PairLoss l = obj->pairLoss(p.tensors());
        for (int64_t i = 0; i < 3; ++i) {
            const size_t k = static_cast<size_t>(i);
            const double z = beta * ((p.pc[k] - p.rc[k]) - (p.pr[k] - p.rr[k]));
            EXPECT_NEAR(valueAt(l.loss, i), -(1 - eps) * logSigmoid(z) - eps * logSigmoid(-z), 1e-6)
                << "pair " << i << " eps " << eps;
            EXPECT_NEAR(valueAt(l.rewardsChosen, i), beta * (p.pc[k] - p.rc[k]), 1e-6);
            EXPECT_NEAR(valueAt(l.rewardsRejected, i), beta * (p.pr[k] - p.rr[k]), 1e-6);
            EXPECT_NEAR(valueAt(l.logpsChosen, i), p.pc[k], 1e-6);
            EXPECT_NEAR(valueAt(l.logpsRejected, i), p.pr[k], 1e-6);
        }
    }
}

TEST(PreferenceLoss, OrpoMatchesTheFormula) {
    Pairs p;
    const double lambda = 0.25;
    auto obj = preferenceObjective({{"type", "orpo"}, {"lambda", lambda}});
    PairLoss l = obj->pairLoss(p.tensors());
    for (int64_t i = 0; i < 3; ++i) {
        const size_t k = static_cast<size_t>(i);
        const double a = p.pc[k] / p.nc[k], b = p.pr[k] / p.nr[k];
        const double logOdds = (a - b) - (std::log(1 - std::exp(a)) - std::log(1 - std::exp(b)));
        EXPECT_NEAR(valueAt(l.loss, i), p.nll() - lambda * logSigmoid(logOdds), 1e-5) << "pair " << i;
        EXPECT_NEAR(valueAt(l.rewardsChosen, i), lambda * a, 1e-6);
        EXPECT_NEAR(valueAt(l.rewardsRejected, i), lambda * b, 1e-6);
        EXPECT_NEAR(valueAt(l.extra.at("nll_loss"), i), p.nll(), 1e-6);
        EXPECT_NEAR(valueAt(l.extra.at("log_odds_ratio"), i), logSigmoid(logOdds), 1e-5);
        EXPECT_NEAR(valueAt(l.extra.at("log_odds_chosen"), i), logOdds, 1e-5);
    }
}

TEST(PreferenceLoss, SimpoMatchesTheFormulaWithSmoothingAndSftWeight) {
    Pairs p;
    for (double eps : {0.0, 0.15})
        for (double w : {0.0, 0.5}) {
            const double beta = 2.0, gamma = 0.7;
            auto obj = preferenceObjective(
                {{"type", "simpo"}, {"beta", beta}, {"gamma", gamma}, {"label_smoothing", eps}, {"sft_weight", w}});
            PairLoss l = obj->pairLoss(p.tensors());
            for (int64_t i = 0; i < 3; ++i) {
                const size_t k = static_cast<size_t>(i);
                const double a = p.pc[k] / p.nc[k], b = p.pr[k] / p.nr[k];
                const double z = beta * (a - b) - gamma;
                EXPECT_NEAR(valueAt(l.loss, i), -(1 - eps) * logSigmoid(z) - eps * logSigmoid(-z) + w * p.nll(), 1e-5)
                    << "pair " << i << " eps " << eps << " sft_weight " << w;
                EXPECT_NEAR(valueAt(l.rewardsChosen, i), beta * a, 1e-6);
                EXPECT_NEAR(valueAt(l.rewardsRejected, i), beta * b, 1e-6);
            }
        }
}

TEST(PreferenceLoss, DpoGradientIsTheFormulasDerivative) {
    // d loss / d log π(c) = -β·((1-ε)·σ(-z) - ε·σ(z)) for each pair.
    Pairs p;
    const double beta = 0.5, eps = 0.1;
    auto obj = preferenceObjective({{"type", "dpo"}, {"beta", beta}, {"label_smoothing", eps}});
    PairLogps x = p.tensors();
    x.chosen.requires_grad_(true);
    obj->pairLoss(x).loss.sum().backward();
    auto sig = [](double v) { return 1 / (1 + std::exp(-v)); };
    for (int64_t i = 0; i < 3; ++i) {
        const size_t k = static_cast<size_t>(i);
        const double z = beta * ((p.pc[k] - p.rc[k]) - (p.pr[k] - p.rr[k]));
        EXPECT_NEAR(x.chosen.grad()[i].item<double>(), -beta * ((1 - eps) * sig(-z) - eps * sig(z)), 1e-6);
    }
}

// ---- the "objective" config ---------------------------------------------------------------------

TEST(ObjectiveConfig, DefaultsAndErrorsNameTheKey) {
    json base = {{"model", "m"}, {"dataset", {{"path", "d.jsonl"}}}};
    RunConfig c = RunConfig::fromJson(base, "run.json");
    EXPECT_EQ(c.objective, json({{"type", "sft"}}));
    base["objective"] = {{"type", "dpo"}};
    c = RunConfig::fromJson(base, "run.json");
    EXPECT_EQ(c.objective["beta"], 0.1);
    EXPECT_EQ(c.objective["label_smoothing"], 0.0);
    EXPECT_EQ(c.objective["reference"], "auto");
    EXPECT_EQ(RunConfig::fromJson(c.toJson(), "round trip").objective, c.objective);

    auto err = [&](const json& objective) {
        json j = base;
        j["objective"] = objective;
        return errorOf([&] { RunConfig::fromJson(j, "run.json"); });
    };
    std::string e = err({{"type", "dpo"}, {"betta", 0.1}});
    EXPECT_TRUE(contains(e, "objective.betta") && contains(e, "unknown key") && contains(e, "beta")) << e;
    e = err({{"type", "dpo"}, {"beta", "high"}});
    EXPECT_TRUE(contains(e, "objective.beta") && contains(e, "wrong type")) << e;
    e = err({{"type", "dpo"}, {"label_smoothing", 0.7}});
    EXPECT_TRUE(contains(e, "objective.label_smoothing")) << e;
    e = err({{"type", "dpo"}, {"reference", "other"}});
    EXPECT_TRUE(contains(e, "objective.reference") && contains(e, "frozen_copy")) << e;
    e = err({{"type", "kto"}});
    EXPECT_TRUE(contains(e, "objective.type") && contains(e, "simpo")) << e;
    e = err({{"type", "orpo"}, {"beta", 0.1}});  // orpo's weight is lambda
    EXPECT_TRUE(contains(e, "objective.beta") && contains(e, "lambda")) << e;
    e = err({{"type", 3}});
    EXPECT_TRUE(contains(e, "objective.type")) << e;
    e = err(json::array());
    EXPECT_TRUE(contains(e, "objective")) << e;
}

// ---- preference datasets ------------------------------------------------------------------------

namespace {

data::PreparedDataset prepare(const test::TempDir& d, const std::string& rows, json extra = json::object(),
                              const std::string& tokenizer = "tiny-gpt2/base") {
    std::ofstream(d.file("pairs.jsonl")) << rows;
    json dc = {{"path", d.file("pairs.jsonl")}, {"template", "chatml"}, {"validation_split", 0.0}};
    for (auto it = extra.begin(); it != extra.end(); ++it) dc[it.key()] = it.value();
    auto tok = Tokenizer::load(test::fixture(tokenizer));
    return data::prepareDataset(data::DatasetConfig::fromJson(dc, "dataset"), tok.get());
}

// The text of the positions whose label counts.
std::string trainedText(const std::vector<int64_t>& ids, const std::vector<int64_t>& labels) {
    static auto tok = Tokenizer::load(test::fixture("tiny-gpt2/base"));
    std::vector<int64_t> kept;
    for (size_t i = 0; i < ids.size(); ++i)
        if (labels[i] != data::kIgnoreIndex) kept.push_back(ids[i]);
    return tok->decode(kept, false);
}
std::string allText(const std::vector<int64_t>& ids) {
    static auto tok = Tokenizer::load(test::fixture("tiny-gpt2/base"));
    return tok->decode(ids, false);
}

}  // namespace

TEST(PreferenceData, StringPairsRenderThePromptAndTrainOnlyTheAnswerWithItsEndOfTurn) {
    test::TempDir d;
    auto pd = prepare(
        d,
        R"({"prompt": "Which book tells of the flood?", "chosen": "Genesis.", "rejected": "Well, many books do."})"
        "\n");
    EXPECT_EQ(pd.format, data::DataFormat::Preference);
    ASSERT_EQ(pd.train.size(), 1u);
    const auto& e = pd.train[0];
    ASSERT_TRUE(e.isPair());
    EXPECT_EQ(
        allText(e.inputIds),
        "<|im_start|>user\nWhich book tells of the flood?<|im_end|>\n<|im_start|>assistant\nGenesis.<|im_end|>\n");
    EXPECT_EQ(trainedText(e.inputIds, e.labels), "Genesis.<|im_end|>");
    EXPECT_EQ(trainedText(e.rejectedIds, e.rejectedLabels), "Well, many books do.<|im_end|>");
    // The report shows both sides, the answer marked trained.
    ASSERT_FALSE(pd.report.exampleRejected.empty());
    json rj = pd.report.toJson();
    EXPECT_TRUE(rj.contains("example_rejected"));
    EXPECT_TRUE(contains(pd.report.toText(), "rejected"));
    EXPECT_EQ(pd.report.format, "preference");
}

TEST(PreferenceData, ConversationalAndSharedHistoryFormsKeepTheHistoryUntrained) {
    test::TempDir d;
    json conv = {{"prompt",
                  {{{"role", "user"}, {"content", "Hi"}},
                   {{"role", "assistant"}, {"content", "Hello."}},
                   {{"role", "user"}, {"content", "Name a book."}}}},
                 {"chosen", {{{"role", "assistant"}, {"content", "Genesis."}}}},
                 {"rejected", {{{"role", "assistant"}, {"content", "Hmm, let me think about that."}}}}};
    json hh = {{"chosen",
                {{{"role", "user"}, {"content", "Hi"}},
                 {{"role", "assistant"}, {"content", "Hello."}},
                 {{"role", "user"}, {"content", "Name a book."}},
                 {{"role", "assistant"}, {"content", "Genesis."}}}},
               {"rejected",
                {{{"role", "user"}, {"content", "Hi"}},
                 {{"role", "assistant"}, {"content", "Hello."}},
                 {{"role", "user"}, {"content", "Name a book."}},
                 {{"role", "assistant"}, {"content", "Hmm, let me think about that."}}}}};
    auto pd = prepare(d, conv.dump() + "\n" + hh.dump() + "\n");
    ASSERT_EQ(pd.train.size(), 2u);
    for (const auto& e : pd.train) {
        EXPECT_EQ(trainedText(e.inputIds, e.labels), "Genesis.<|im_end|>");  // "Hello." of the history is not trained
        EXPECT_EQ(trainedText(e.rejectedIds, e.rejectedLabels), "Hmm, let me think about that.<|im_end|>");
    }
    // Both forms give the same sequences.
    EXPECT_EQ(pd.train[0].inputIds, pd.train[1].inputIds);
    EXPECT_EQ(pd.train[0].rejectedIds, pd.train[1].rejectedIds);
}

TEST(PreferenceData, PretokenisedPairsAndColumnMapping) {
    test::TempDir d;
    auto pd = prepare(d,
                      R"({"prompt_ids": [1, 5, 6], "chosen_ids": [7, 2], "rejected_ids": [8, 9, 2]})"
                      "\n",
                      {{"template", "auto"}}, "tiny-llama/base");  // no chat template needed
    ASSERT_EQ(pd.train.size(), 1u);
    EXPECT_EQ(pd.train[0].inputIds, (std::vector<int64_t>{1, 5, 6, 7, 2}));
    EXPECT_EQ(pd.train[0].labels, (std::vector<int64_t>{-100, -100, -100, 7, 2}));
    EXPECT_EQ(pd.train[0].rejectedLabels, (std::vector<int64_t>{-100, -100, -100, 8, 9, 2}));

    test::TempDir d2;
    auto mapped = prepare(d2,
                          R"({"question": "Q?", "good": "Yes.", "bad": "No, never, not at all."})"
                          "\n",
                          {{"column_mapping", {{"prompt", "question"}, {"chosen", "good"}, {"rejected", "bad"}}}});
    EXPECT_EQ(mapped.format, data::DataFormat::Preference);
    ASSERT_EQ(mapped.train.size(), 1u);
    EXPECT_EQ(trainedText(mapped.train[0].inputIds, mapped.train[0].labels), "Yes.<|im_end|>");
}

TEST(PreferenceData, BadPairsAreRejectedWithTheReason) {
    test::TempDir d;
    std::string rows = R"({"prompt": "Q", "chosen": "A", "rejected": "B"})"
                       "\n"
                       R"({"prompt": "Q", "chosen": "", "rejected": "B"})"
                       "\n"
                       R"({"prompt": "Q", "chosen": "Same", "rejected": "Same"})"
                       "\n"
                       R"({"chosen": "A", "rejected": "B"})"
                       "\n"
                       R"({"prompt": "Q", "chosen": [{"role": "user", "content": "A"}], "rejected": "B"})"
                       "\n"
                       R"({"prompt_ids": [1], "chosen_ids": [], "rejected_ids": [3]})"
                       "\n";
    auto pd = prepare(d, rows);
    ASSERT_EQ(pd.train.size(), 1u);
    ASSERT_EQ(pd.report.rejections.size(), 5u);
    EXPECT_TRUE(contains(pd.report.rejections[0].reason, "empty response")) << pd.report.rejections[0].reason;
    EXPECT_TRUE(contains(pd.report.rejections[1].reason, "same answer")) << pd.report.rejections[1].reason;
    EXPECT_TRUE(contains(pd.report.rejections[2].reason, "no 'prompt'")) << pd.report.rejections[2].reason;
    EXPECT_TRUE(contains(pd.report.rejections[3].reason, "assistant messages only")) << pd.report.rejections[3].reason;
    EXPECT_TRUE(contains(pd.report.rejections[4].reason, "empty response")) << pd.report.rejections[4].reason;
    EXPECT_EQ(pd.report.rejections[1].line, 3);

    // Packing does not apply.
    test::TempDir d2;
    std::string e = errorOf([&] { prepare(d2, rows, {{"packing", true}}); });
    EXPECT_TRUE(contains(e, "packing")) << e;
}

TEST(PreferenceData, TruncationCutsThePromptFromTheLeftThenTheAnswerFromTheRight) {
    auto pair = [] {
        data::PreparedExample e;
        e.inputIds = {1, 2, 3, 4, 5, 6, 10, 11, 12};  // prompt 1..6, answer 10..12
        e.labels = {-100, -100, -100, -100, -100, -100, 10, 11, 12};
        e.rejectedIds = {1, 2, 3, 4, 5, 6, 20, 21};
        e.rejectedLabels = {-100, -100, -100, -100, -100, -100, 20, 21};
        return e;
    };
    // Fits: untouched.
    auto e = pair();
    EXPECT_FALSE(data::truncatePair(e, 9));
    EXPECT_EQ(e.inputIds.size(), 9u);
    // Two too long: two prompt tokens go from the left of both sides.
    e = pair();
    EXPECT_TRUE(data::truncatePair(e, 7));
    EXPECT_EQ(e.inputIds, (std::vector<int64_t>{3, 4, 5, 6, 10, 11, 12}));
    EXPECT_EQ(e.rejectedIds, (std::vector<int64_t>{3, 4, 5, 6, 20, 21}));
    // Longer than prompt can give: one prompt token stays, then the answers are cut from the right.
    e = pair();
    EXPECT_TRUE(data::truncatePair(e, 3));
    EXPECT_EQ(e.inputIds, (std::vector<int64_t>{6, 10, 11}));
    EXPECT_EQ(e.labels, (std::vector<int64_t>{-100, 10, 11}));
    EXPECT_EQ(e.rejectedIds, (std::vector<int64_t>{6, 20, 21}));
    // A pair whose answer ends up with nothing to train on is refused with the reason.
    e = pair();
    e.rejectedLabels.assign(e.rejectedLabels.size(), -100);
    try {
        data::truncatePair(e, 20);
        ADD_FAILURE() << "no error";
    } catch (const data::RowError& err) {
        EXPECT_TRUE(contains(err.what(), "rejected answer")) << err.what();
    }

    // Through prepareDataset: a long prompt is cut from the left, the answer stays whole.
    test::TempDir d;
    std::string longPrompt;
    for (int i = 0; i < 60; ++i) longPrompt += "word ";
    auto pd =
        prepare(d, json{{"prompt", longPrompt}, {"chosen", "Genesis."}, {"rejected", "Exodus, I think."}}.dump() + "\n",
                {{"max_length", 24}});
    ASSERT_EQ(pd.train.size(), 1u);
    EXPECT_EQ(pd.train[0].rejectedIds.size(), 24u);  // the longer side fills max_length
    EXPECT_LT(pd.train[0].inputIds.size(), 24u);
    EXPECT_EQ(trainedText(pd.train[0].inputIds, pd.train[0].labels), "Genesis.<|im_end|>");
    EXPECT_EQ(trainedText(pd.train[0].rejectedIds, pd.train[0].rejectedLabels), "Exodus, I think.<|im_end|>");
    EXPECT_EQ(pd.report.truncatedRows, 1);
}

TEST(PreferenceData, PairsBatchChosenRowsThenRejectedRows) {
    data::PreparedExample a, b;
    a.inputIds = {1, 2, 3};
    a.labels = {-100, 2, 3};
    a.rejectedIds = {1, 4};
    a.rejectedLabels = {-100, 4};
    b.inputIds = {1, 5};
    b.labels = {-100, 5};
    b.rejectedIds = {1, 6, 7, 8};
    b.rejectedLabels = {-100, 6, 7, 8};
    data::Batch batch = data::Batcher::collate({&a, &b}, 0);
    EXPECT_EQ(batch.pairs, 2);
    ASSERT_EQ(batch.inputIds.sizes(), (std::vector<int64_t>{4, 4}));
    EXPECT_EQ(batch.inputIds[0][2].item<int64_t>(), 3);  // a chosen
    EXPECT_EQ(batch.inputIds[1][1].item<int64_t>(), 5);  // b chosen
    EXPECT_EQ(batch.inputIds[2][1].item<int64_t>(), 4);  // a rejected
    EXPECT_EQ(batch.inputIds[3][3].item<int64_t>(), 8);  // b rejected
    EXPECT_EQ(batch.labels[3][0].item<int64_t>(), -100);
    EXPECT_EQ(batch.numLabels, 2 + 1 + 1 + 3);
    EXPECT_FALSE(batch.refLogps.defined());
}

// ---- training -----------------------------------------------------------------------------------

namespace {

// Pairs for tiny-llama (chatml rendered as text by its tokenizer).
void writePairs(const std::string& path, int n) {
    std::ofstream out(path);
    const char* topics[] = {"the flood", "the ark", "the garden", "the tower", "the exodus", "the psalms"};
    for (int i = 0; i < n; ++i) {
        std::string t = topics[i % 6];
        out << json{{"prompt", "Tell me of " + t + " " + std::to_string(i)},
                    {"chosen", "It is told of " + t + "."},
                    {"rejected", "Well, " + t + " is a long story and I am not sure where to begin it."}}
                   .dump()
            << "\n";
    }
}

json runJson(const test::TempDir& d, const std::string& out, const json& objective, const json& method = nullptr,
             json training = json::object()) {
    json t = {{"max_steps", 3},  {"batch_size", 2}, {"precision", "fp32"}, {"device", "cpu"},         {"save_every", 0},
              {"eval_every", 0}, {"lr", 1e-2},      {"shuffle", false},    {"scheduler", "constant"}, {"seed", 3}};
    for (auto it = training.begin(); it != training.end(); ++it) t[it.key()] = it.value();
    return {
        {"model", test::fixture("tiny-llama/base")},
        {"dataset",
         {{"path", d.file("pairs.jsonl")}, {"template", "chatml"}, {"max_length", 40}, {"validation_split", 0.25}}},
        {"method",
         method.is_null() ? json{{"peft_type", "LORA"}, {"init_from", test::fixture("tiny-llama/adapters/lora-qv-r4")}}
                          : method},
        {"training", t},
        {"objective", objective},
        {"output_dir", d.file(out)}};
}

struct RunTrace {
    std::vector<StepMetrics> steps;
    NamedTensors trainable;
    TrainResult result;
};

RunTrace train(const json& cfg) {
    Trainer t(RunConfig::fromJson(cfg, "test"));
    t.setup();
    RunTrace r;
    r.result = t.run([&](const StepMetrics& m) { r.steps.push_back(m); });
    for (const auto& [n, p] : t.adapter().method->trainable()) r.trainable.emplace_back(n, p.detach().clone());
    return r;
}

double maxDiff(const NamedTensors& a, const NamedTensors& b) {
    double m = 0;
    for (size_t i = 0; i < a.size(); ++i) m = std::max(m, (a[i].second - b[i].second).abs().max().item<double>());
    return m;
}

}  // namespace

TEST(PreferenceTraining, WrongKindOfDatasetIsAnErrorBeforeTheModelLoads) {
    test::TempDir d;
    std::ofstream(d.file("text.jsonl")) << R"({"text": "plain text"})"
                                           "\n";
    writePairs(d.file("pairs.jsonl"), 4);
    json cfg = runJson(d, "run", {{"type", "dpo"}});
    cfg["model"] = d.file("no-such-model");  // an error about the model would mean it loaded first
    cfg["dataset"]["path"] = d.file("text.jsonl");
    std::string e = errorOf([&] { Trainer(RunConfig::fromJson(cfg, "test")).setup(); });
    EXPECT_TRUE(contains(e, "text.jsonl") && contains(e, "preference pairs") && contains(e, "DPO")) << e;
    cfg["objective"] = {{"type", "sft"}};
    cfg["dataset"]["path"] = d.file("pairs.jsonl");
    e = errorOf([&] { Trainer(RunConfig::fromJson(cfg, "test")).setup(); });
    EXPECT_TRUE(contains(e, "pairs.jsonl") && contains(e, "preference pairs") && contains(e, "objective")) << e;
    // With the format named in run.json too.
    cfg["objective"] = {{"type", "orpo"}};
    cfg["dataset"] = {{"path", d.file("text.jsonl")}, {"format", "text"}};
    e = errorOf([&] { Trainer(RunConfig::fromJson(cfg, "test")).setup(); });
    EXPECT_TRUE(contains(e, "ORPO") && contains(e, "preference pairs")) << e;
    // A preference objective on a classification method.
    cfg = runJson(d, "run", {{"type", "simpo"}},
                  {{"peft_type", "LORA"}, {"task_type", "SEQ_CLS"}, {"target_modules", {"q_proj"}}});
    e = errorOf([&] { Trainer(RunConfig::fromJson(cfg, "test")).setup(); });
    EXPECT_TRUE(contains(e, "SEQ_CLS")) << e;
}

TEST(PreferenceTraining, TheAdapterSwitchesOffOnlyWhereThatGivesTheBase) {
    auto check = [](const json& method, bool expected) {
        LoadedModel lm = loadModel(test::fixture("tiny-llama/base"), {});
        Adapter a = attachAdapter(*lm.model, method);
        EXPECT_EQ(adapterDisableGivesBase(*lm.model, a), expected) << method.dump();
        // Switched off, the output is the base model's.
        torch::NoGradGuard ng;
        torch::Tensor ids = torch::tensor({{1, 5, 9, 33}});
        torch::Tensor on = lm.model->forward(ids);
        torch::Tensor off;
        {
            AdapterDisabled scope(*lm.model);
            off = lm.model->forward(ids);
        }
        EXPECT_TRUE(torch::equal(lm.model->forward(ids), on));  // back on after the scope
        return off;
    };
    LoadedModel base = loadModel(test::fixture("tiny-llama/base"), {});
    torch::NoGradGuard ng;
    torch::Tensor want = base.model->forward(torch::tensor({{1, 5, 9, 33}}));
    torch::Tensor off =
        check({{"peft_type", "LORA"}, {"r", 4}, {"init_lora_weights", false}, {"target_modules", {"q_proj", "v_proj"}}},
              true);
    EXPECT_LT((off - want).abs().max().item<double>(), 1e-6);
    check({{"peft_type", "IA3"},
           {"target_modules", {"k_proj", "v_proj", "down_proj"}},
           {"feedforward_modules", {"down_proj"}}},
          true);
    check({{"peft_type", "PROMPT_TUNING"}, {"num_virtual_tokens", 3}}, true);
    check({{"peft_type", "BITFIT"}, {"train_norms", true}}, false);
    check({{"peft_type", "FULL"}}, false);
    check({{"peft_type", "LORA"}, {"r", 4}, {"target_modules", {"q_proj"}}, {"modules_to_save", {"lm_head"}}}, false);
}

TEST(PreferenceTraining, DpoOnBitFitUsesAFrozenCopyAsTheReference) {
    test::TempDir d;
    writePairs(d.file("pairs.jsonl"), 8);
    json method = {{"peft_type", "BITFIT"}, {"train_norms", true}};
    RunTrace r = train(runJson(d, "run", {{"type", "dpo"}, {"beta", 0.5}}, method, {{"lr", 5e-2}, {"max_steps", 4}}));
    ASSERT_EQ(r.result.status, TrainStatus::Finished) << r.result.message;
    // Step 1: the policy is the reference (BitFit starts from the base), so z = 0 and loss = log 2.
    EXPECT_NEAR(r.steps[0].loss, std::log(2.0), 1e-6);
    EXPECT_NEAR(r.steps[0].objectiveMetrics.at("rewards_margin"), 0.0, 1e-6);
    EXPECT_GT(std::abs(r.steps[3].objectiveMetrics.at("rewards_margin")), 1e-4);  // it moved from the reference
    // Asking for the adapter to be switched off cannot give the reference here.
    std::string e = errorOf([&] {
        train(runJson(d, "run2", {{"type", "dpo"}, {"reference", "adapter_disabled"}}, method));
    });
    EXPECT_TRUE(contains(e, "objective.reference") && contains(e, "BITFIT")) << e;
}

TEST(PreferenceTraining, MetricsAndEvaluationReportTheRewards) {
    test::TempDir d;
    writePairs(d.file("pairs.jsonl"), 8);
    RunTrace r = train(runJson(d, "run", {{"type", "orpo"}}, nullptr, {{"eval_every", 2}}));
    ASSERT_EQ(r.result.status, TrainStatus::Finished) << r.result.message;
    std::ifstream in(d.file("run") + "/metrics.jsonl");
    std::string line;
    std::vector<json> lines;
    while (std::getline(in, line)) lines.push_back(json::parse(line));
    ASSERT_EQ(lines.size(), 3u);
    for (const char* k : {"rewards_chosen", "rewards_rejected", "rewards_accuracy", "rewards_margin", "logps_chosen",
                          "logps_rejected", "nll_loss", "log_odds_ratio"})
        EXPECT_TRUE(lines[0].contains(k)) << k;
    EXPECT_TRUE(lines[1].contains("eval_rewards_accuracy"));
    EXPECT_TRUE(lines[1].contains("eval_loss"));
    EXPECT_TRUE(lines[1].contains("eval_accuracy"));
    EXPECT_FALSE(lines[1].contains("eval_ppl"));  // no perplexity for a preference loss
    EXPECT_DOUBLE_EQ(lines[1]["eval_accuracy"].get<double>(), lines[1]["eval_rewards_accuracy"].get<double>());
    const double acc = lines[0]["rewards_accuracy"].get<double>();
    EXPECT_TRUE(acc == 0.0 || acc == 0.5 || acc == 1.0) << acc;  // a fraction of the batch's 2 pairs
    // The three are fp32 batch means, each rounded on its own (in a thread-count dependent order):
    // a few fp32 ulps of the rewards, not 1e-9.
    const double rc = lines[0]["rewards_chosen"].get<double>(), rr = lines[0]["rewards_rejected"].get<double>();
    EXPECT_NEAR(lines[0]["rewards_margin"].get<double>(), rc - rr, 8 * 1.2e-7 * (std::abs(rc) + std::abs(rr)));
}

TEST(PreferenceTraining, GradientAccumulationEqualsTheWholeBatch) {
    for (const json& objective :
         {json{{"type", "dpo"}, {"beta", 0.5}, {"label_smoothing", 0.1}}, json{{"type", "simpo"}, {"gamma", 0.5}}}) {
        test::TempDir d;
        writePairs(d.file("pairs.jsonl"), 8);
        RunTrace whole = train(runJson(d, "a", objective));
        RunTrace accum = train(runJson(d, "b", objective, nullptr, {{"batch_size", 1}, {"grad_accum", 2}}));
        ASSERT_EQ(whole.steps.size(), accum.steps.size());
        for (size_t s = 0; s < whole.steps.size(); ++s) {
            EXPECT_NEAR(accum.steps[s].loss, whole.steps[s].loss, 1e-5 * std::abs(whole.steps[s].loss))
                << objective.dump();
            // The margin is β·(a difference of fp32 log-probs summed over the answers' tokens, policy
            // and reference): its rounding scales with β·|log p|, not with the (small) margin.
            const auto& m = whole.steps[s].objectiveMetrics;
            const double scale =
                objective.value("beta", 2.0) * (std::abs(m.at("logps_chosen")) + std::abs(m.at("logps_rejected")));
            EXPECT_NEAR(accum.steps[s].objectiveMetrics.at("rewards_margin"), m.at("rewards_margin"),
                        1e-5 * std::max(1.0, scale))
                << objective.dump() << " step " << s << " scale " << scale;
        }
        EXPECT_LT(maxDiff(whole.trainable, accum.trainable), 1e-5) << objective.dump();
    }
}

TEST(PreferenceTraining, PrecomputedReferenceGivesTheSameRunAndIsCachedWithIt) {
    test::TempDir d;
    writePairs(d.file("pairs.jsonl"), 8);
    RunTrace live = train(runJson(d, "live", {{"type", "dpo"}, {"beta", 0.5}}));
    RunTrace pre = train(runJson(d, "pre", {{"type", "dpo"}, {"beta", 0.5}, {"precompute_reference", true}}));
    ASSERT_EQ(pre.result.status, TrainStatus::Finished) << pre.result.message;
    for (size_t s = 0; s < live.steps.size(); ++s) EXPECT_NEAR(pre.steps[s].loss, live.steps[s].loss, 1e-5);
    EXPECT_LT(maxDiff(live.trainable, pre.trainable), 1e-5);
    const std::string cache = d.file("pre") + "/reference_logps.safetensors";
    ASSERT_TRUE(fs::exists(cache));
    // A second setup in the same folder reads the cache: with it overwritten, the losses follow.
    {
        NamedTensors fake;
        for (const auto& [name, t] : loadSafetensors(cache)) fake.emplace_back(name, torch::zeros_like(t));
        saveSafetensors(cache, fake);
    }
    RunTrace cached = train(runJson(d, "pre", {{"type", "dpo"}, {"beta", 0.5}, {"precompute_reference", true}}));
    EXPECT_GT(std::abs(cached.steps[0].loss - pre.steps[0].loss), 1e-3);
}

TEST(PreferenceTraining, Bf16AndQLoRARunsTrain) {
    test::TempDir d;
    writePairs(d.file("pairs.jsonl"), 8);
    RunTrace fp32 = train(runJson(d, "fp32", {{"type", "dpo"}}));
    RunTrace bf16 = train(runJson(d, "bf16", {{"type", "dpo"}}, nullptr, {{"precision", "bf16"}}));
    ASSERT_EQ(bf16.result.status, TrainStatus::Finished) << bf16.result.message;
    for (size_t s = 0; s < fp32.steps.size(); ++s)
        EXPECT_NEAR(bf16.steps[s].loss, fp32.steps[s].loss, 2e-2) << "step " << s;
    RunTrace q = train(runJson(d, "qlora", {{"type", "simpo"}}, nullptr, {{"quantize_base", true}}));
    ASSERT_EQ(q.result.status, TrainStatus::Finished) << q.result.message;
    for (const auto& m : q.steps) EXPECT_TRUE(std::isfinite(m.loss));
}

TEST(PreferenceTraining, NonFiniteLossStopsWithAMessage) {
    test::TempDir d;
    writePairs(d.file("pairs.jsonl"), 8);
    Trainer t(RunConfig::fromJson(runJson(d, "run", {{"type", "dpo"}}), "test"));
    t.setup();
    {
        torch::NoGradGuard ng;
        for (auto& [n, p] : t.adapter().method->trainable()) p.fill_(std::numeric_limits<float>::infinity());
    }
    TrainResult r = t.run();
    ASSERT_EQ(r.status, TrainStatus::Failed) << r.message;
    EXPECT_TRUE(contains(r.message, "loss became")) << r.message;
}

// ---- the budget ---------------------------------------------------------------------------------

TEST(PreferenceBudget, PairsCountTwiceAndAFrozenCopyOnlyWhereNeeded) {
    ModelConfig mc = ModelConfig::fromJson(readJsonFile(test::fixture("tiny-llama/base/config.json")), "config.json");
    budget::BudgetOptions o;
    o.batch = 2;
    o.seqLen = 64;
    json lora = {{"peft_type", "LORA"}, {"r", 4}, {"target_modules", {"q_proj", "v_proj"}}};
    budget::BudgetOptions four = o;
    four.batch = 4;
    const budget::Estimate seq4 = budget::estimate(mc, lora, four);
    auto dpo = budget::estimateWithObjective(mc, lora, o, {{"type", "dpo"}});
    EXPECT_EQ(dpo.estimate.memory.activations, seq4.memory.activations);  // 2 pairs = 4 sequences
    EXPECT_EQ(dpo.estimate.memory.weights, seq4.memory.weights);          // the adapter switches off: no copy
    EXPECT_EQ(dpo.referenceCopyBytes, 0u);
    EXPECT_TRUE(dpo.referenceForward);
    EXPECT_NEAR(dpo.estimate.trainFlopsPerToken, seq4.trainFlopsPerToken * 4.0 / 3.0, 1e-6 * seq4.trainFlopsPerToken);
    auto orpo = budget::estimateWithObjective(mc, lora, o, {{"type", "orpo"}});
    EXPECT_FALSE(orpo.referenceForward);
    EXPECT_EQ(orpo.estimate.trainFlopsPerToken, seq4.trainFlopsPerToken);
    auto sft = budget::estimateWithObjective(mc, lora, o, {{"type", "sft"}});
    EXPECT_EQ(sft.estimate.memory.activations, budget::estimate(mc, lora, o).memory.activations);
    // Full fine-tuning: the reference is a frozen copy of the base weights.
    json full = {{"peft_type", "FULL"}};
    const budget::Estimate fullSeq4 = budget::estimate(mc, full, four);
    auto fullDpo = budget::estimateWithObjective(mc, full, o, {{"type", "dpo"}});
    EXPECT_GT(fullDpo.referenceCopyBytes, 0u);
    EXPECT_EQ(fullDpo.estimate.memory.weights, fullSeq4.memory.weights + fullDpo.referenceCopyBytes);
    EXPECT_EQ(fullDpo.referenceCopyBytes, static_cast<uint64_t>(fullSeq4.params.base) * 4);  // fp32 base
}
