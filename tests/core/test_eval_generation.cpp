// Evaluation with real models: batched greedy generation equals one-prompt-at-a-time greedy
// generation (fixture models, base and with an adapter), the multiple-choice scorer's
// log-likelihoods equal a plain forward pass and acc/acc_norm follow lm-evaluation-harness's
// rules, a run's validation split is the trainer's, the CLI report equals the in-process one,
// and the preflight template/EOS checks fire on a broken setup and stay silent on the demo.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/data/prepare.h"
#include "core/eval/evaluator.h"
#include "core/model/batch_generate.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "core/train/preflight.h"
#include "core/train/run_config.h"
#include "core/train/template_checks.h"
#include "core/train/trainer.h"
#include "core/util/error.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace peft;

namespace {
std::string demoDir() { return peft::test::sourcePath("resources/demo"); }

void writeText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

// Greedy continuations one prompt at a time (the playground's path) vs generateGreedyBatch.
void expectBatchEqualsSingle(CausalLMImpl& model, const Tokenizer& tok,
                             const std::vector<std::vector<int64_t>>& prompts, int64_t batch) {
    BatchGenerateOptions bo;
    bo.maxNewTokens = 12;
    bo.batchSize = batch;
    bo.stopIds = {-1};  // never stop early: compare all 12 tokens of every row
    size_t finished = 0;
    auto answers = generateGreedyBatch(model, tok, prompts, bo, [&](size_t, const std::string&) { ++finished; });
    EXPECT_EQ(finished, prompts.size());
    GenerateOptions go;
    go.greedy = true;
    go.maxNewTokens = 12;
    go.stopIds = {-1};
    for (size_t i = 0; i < prompts.size(); ++i) {
        auto ids = generateIds(model, prompts[i], go);
        EXPECT_EQ(answers[i], tok.decode(ids, true)) << "prompt " << i;
    }
}
}  // namespace

TEST(EvalGeneration, BatchedGreedyEqualsOneAtATimeOnLlamaWithLeftPadding) {
    const std::string dir = test::fixture("tiny-llama/base");
    LoadedModel lm = loadModel(dir);
    auto tok = Tokenizer::load(dir);
    // Lengths 3..9: left padding of up to 6 positions inside one batch.
    std::vector<std::vector<int64_t>> prompts = {
        {1, 5, 9}, {1, 40, 41, 42, 43, 44, 45, 46, 47}, {1, 7, 8, 100, 3}, {1, 200, 201, 202, 203, 204}, {1, 60}};
    expectBatchEqualsSingle(*lm.model, *tok, prompts, 4);
    // With a LoRA adapter on (the "tuned" side) and off (the "base" side).
    Adapter ad = loadAdapter(*lm.model, test::fixture("tiny-llama/adapters/lora-qv-r4"));
    expectBatchEqualsSingle(*lm.model, *tok, prompts, 5);
    lm.model->adapterState()->enabled = false;
    expectBatchEqualsSingle(*lm.model, *tok, prompts, 5);
}

TEST(EvalGeneration, BatchedGreedyEqualsOneAtATimeOnGpt2) {
    // Learned absolute positions: only equal-length prompts share a batch.
    const std::string dir = test::fixture("tiny-gpt2/base");
    LoadedModel lm = loadModel(dir);
    auto tok = Tokenizer::load(dir);
    std::vector<std::vector<int64_t>> prompts = {{5, 9, 11}, {40, 41, 42, 43}, {7, 8, 100}, {200, 201, 202, 203}, {60}};
    expectBatchEqualsSingle(*lm.model, *tok, prompts, 8);
}

TEST(EvalGeneration, StopStringsAndEncodePrompt) {
    EXPECT_EQ(cutAtStop("The book of Genesis.\nUser: more", {"\nUser:", ""}), "The book of Genesis.");
    bool cut = true;
    EXPECT_EQ(cutAtStop("abc", {"x"}, &cut), "abc");
    EXPECT_FALSE(cut);
    // The Llama tokenizer's post-processor adds BOS (1) before, nothing after.
    auto tok = Tokenizer::load(test::fixture("tiny-llama/base"));
    auto plain = tok->encode("hello world", false);
    auto withBos = encodePrompt(*tok, "hello world", true);
    ASSERT_EQ(withBos.size(), plain.size() + 1);
    EXPECT_EQ(withBos[0], 1);
    EXPECT_EQ(encodePrompt(*tok, "hello world", false), plain);
}

TEST(EvalGeneration, ValidationSetIsTheTrainersSplit) {
    RunConfig cfg = RunConfig::load(demoDir() + "/run.json");
    auto tok = Tokenizer::load(cfg.model);
    data::DatasetConfig dc = data::DatasetConfig::fromJson(cfg.dataset, "dataset");
    data::PrepareOptions po;
    po.seed = cfg.training.seed;
    auto pd = data::prepareDataset(dc, tok.get(), po);
    eval::EvalSet set = eval::runValidationSet(cfg, *tok);
    ASSERT_EQ(set.items.size(), pd.validation.size());
    ASSERT_FALSE(set.items.empty());
    for (size_t i = 0; i < set.items.size(); ++i) EXPECT_EQ(set.items[i].line, pd.validation[i].line);
    ASSERT_TRUE(set.templateKind.has_value());
    EXPECT_EQ(*set.templateKind, data::TemplateKind::ChatMl);
    const auto& first = set.items.front();
    EXPECT_EQ(first.prompt.rfind("<|im_start|>user\n", 0), 0u) << first.prompt;
    EXPECT_EQ(first.prompt.substr(first.prompt.size() - 22), "<|im_start|>assistant\n");
    ASSERT_EQ(first.references.size(), 1u);
    EXPECT_FALSE(first.references[0].empty());
    EXPECT_EQ(eval::runValidationSet(cfg, *tok, 3).items.size(), 3u);
}

TEST(EvalGeneration, GenerationSetRefusesRowsWithoutReferences) {
    test::TempDir tmp;
    writeText(tmp.file("t.jsonl"), "{\"text\": \"just text\"}\n");
    try {
        eval::loadGenerationSet(tmp.file("t.jsonl"), {}, nullptr);
        FAIL() << "text rows accepted";
    } catch (const PeftError& e) {
        EXPECT_NE(std::string(e.what()).find("no reference answer"), std::string::npos) << e.what();
    }
    writeText(tmp.file("i.jsonl"),
              "{\"instruction\": \"Name the first book.\", \"output\": \"Genesis\"}\n"
              "{\"instruction\": 5, \"output\": \"x\"}\n"
              "{\"instruction\": \"Add\", \"input\": \"2 and 2\", \"output\": \"4\"}\n");
    eval::EvalDataOptions o;
    o.templateName = "alpaca";
    eval::EvalSet s = eval::loadGenerationSet(tmp.file("i.jsonl"), o, nullptr);
    ASSERT_EQ(s.items.size(), 2u);
    EXPECT_EQ(s.items[0].references, std::vector<std::string>{"Genesis"});
    EXPECT_EQ(s.items[1].line, 3);
    EXPECT_NE(s.items[1].prompt.find("### Input:\n2 and 2"), std::string::npos) << s.items[1].prompt;
    EXPECT_EQ(s.items[1].prompt.substr(s.items[1].prompt.size() - 14), "### Response:\n");
    ASSERT_EQ(s.rejections.size(), 1u);
    EXPECT_EQ(s.rejections[0].line, 2);
}

TEST(EvalChoices, LogLikelihoodsAccAndAccNormAsTheHarness) {
    // A hand-made 3-choice set on the demo model (pretrained on the King James Bible): the long
    // right answers are more likely per character but less likely in total than a short wrong one,
    // so acc and acc_norm disagree.
    test::TempDir tmp;
    writeText(
        tmp.file("mc.jsonl"),
        "{\"question\": \"In the beginning God created the heaven and the\", \"choices\": [\"sea\", \"earth. And the "
        "earth was without form, and void\", \"xq\"], \"answer\": 1}\n"
        "{\"question\": \"And God said, Let there be\", \"choices\": [\"dog\", \"light: and there was light\", "
        "\"zz\"], \"answer\": 1}\n"
        "{\"context\": \"The LORD is my shepherd; I shall not \", \"choices\": [\"want\", \"qq\", \"fly\"], "
        "\"answer\": "
        "\"want\"}\n"
        "{\"question\": \"\", \"choices\": [\"the\", \"zqxj\", \"and the\"], \"answer\": 0}\n");
    const std::string dir = demoDir() + "/model";
    LoadedModel lm = loadModel(dir);
    auto tok = Tokenizer::load(dir);
    eval::EvalSet set = eval::loadChoiceSet(tmp.file("mc.jsonl"));
    ASSERT_EQ(set.items.size(), 4u);
    EXPECT_EQ(set.items[2].answer, 0) << "a string answer is looked up among the choices";
    eval::EvalOptions o;
    o.sides = {"base"};
    o.batchSize = 4;
    eval::EvalReport r = eval::evaluateChoices(*lm.model, *tok, set, o);
    ASSERT_EQ(r.rows.size(), 4u);
    // Independent recomputation: one unpadded forward per (context, continuation), the harness's
    // split: trailing spaces of the context go to the continuation; an empty context is EOS.
    double acc = 0, accNorm = 0;
    torch::NoGradGuard ng;
    for (size_t i = 0; i < set.items.size(); ++i) {
        const auto& it = set.items[i];
        std::vector<double> ll, norm;
        for (size_t c = 0; c < it.choices.size(); ++c) {
            std::string ctx = it.prompt, cont = " " + it.choices[c];
            while (!ctx.empty() && ctx.back() == ' ') {
                cont = " " + cont;
                ctx.pop_back();
            }
            std::vector<int64_t> ctxIds = ctx.empty() ? std::vector<int64_t>{*tok->eosId()} : tok->encode(ctx, false);
            std::vector<int64_t> whole = ctx.empty() ? ctxIds : std::vector<int64_t>{};
            auto rest = tok->encode(ctx + cont, false);
            if (ctx.empty()) whole.insert(whole.end(), rest.begin(), rest.end());
            else whole = rest;
            const size_t n = whole.size(), m = ctx.empty() ? rest.size() : whole.size() - ctxIds.size();
            torch::Tensor logits = lm.model->forward(torch::tensor(whole, torch::kInt64).unsqueeze(0)).log_softmax(-1);
            double sum = 0;
            for (size_t j = n - m; j < n; ++j) sum += logits[0][static_cast<int64_t>(j - 1)][whole[j]].item<double>();
            ll.push_back(sum);
            norm.push_back(sum / static_cast<double>(it.choices[c].size()));
            EXPECT_NEAR(r.rows[i].loglikelihoods.at("base")[c], sum, 1e-3) << "item " << i << " choice " << c;
        }
        const auto pick = [](const std::vector<double>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
        acc += pick(ll) == it.answer;
        accNorm += pick(norm) == it.answer;
        EXPECT_EQ(r.rows[i].scores.at("base").at("acc"), pick(ll) == it.answer ? 1.0 : 0.0);
        EXPECT_EQ(r.rows[i].scores.at("base").at("acc_norm"), pick(norm) == it.answer ? 1.0 : 0.0);
    }
    EXPECT_DOUBLE_EQ(r.aggregate.at("base").at("acc"), acc / 4);
    EXPECT_DOUBLE_EQ(r.aggregate.at("base").at("acc_norm"), accNorm / 4);
    EXPECT_NE(acc, accNorm) << "the set is built so that acc and acc_norm differ";
    std::cout << "3-choice set: acc " << acc / 4 << ", acc_norm " << accNorm / 4 << "\n";
    // Standard error as the harness's mean_stderr: sample std / sqrt(n).
    std::vector<double> a;
    for (const auto& row : r.rows) a.push_back(row.scores.at("base").at("acc"));
    const double mu = acc / 4;
    double ss = 0;
    for (double x : a) ss += (x - mu) * (x - mu);
    EXPECT_NEAR(r.stderrs.at("base").at("acc"), std::sqrt(ss / 3) / 2, 1e-12);
    // Few-shot: the first row becomes "question answer\n\n" before each remaining question.
    eval::EvalSet fs1 = eval::loadChoiceSet(tmp.file("mc.jsonl"), 1);
    ASSERT_EQ(fs1.items.size(), 3u);
    EXPECT_EQ(fs1.items[0].prompt,
              "In the beginning God created the heaven and the earth. And the earth was without form, and void\n\n"
              "And God said, Let there be");
    EXPECT_THROW(eval::loadChoiceSet(tmp.file("mc.jsonl"), 4), PeftError);
}

TEST(EvalChoices, BadRowsAreReportedWithTheirLine) {
    test::TempDir tmp;
    writeText(tmp.file("mc.jsonl"),
              "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1}\n"
              "{\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 2}\n"
              "{\"question\": \"q\", \"choices\": [\"a\"], \"answer\": 0}\n"
              "{\"choices\": [\"a\", \"b\"], \"answer\": 0}\n");
    eval::EvalSet s = eval::loadChoiceSet(tmp.file("mc.jsonl"));
    EXPECT_EQ(s.items.size(), 1u);
    ASSERT_EQ(s.rejections.size(), 3u);
    EXPECT_EQ(s.rejections[0].line, 2);
    EXPECT_NE(s.rejections[0].reason.find("index 0..1"), std::string::npos) << s.rejections[0].reason;
    EXPECT_NE(s.rejections[2].reason.find("question"), std::string::npos);
}

TEST(EvalCli, ReportRowsEqualTheInProcessEvaluation) {
    test::TempDir tmp;
    writeText(tmp.file("eval.jsonl"),
              "{\"instruction\": \"Say hello\", \"output\": \"hello\"}\n"
              "{\"instruction\": \"Count to three\", \"output\": \"one two three\"}\n"
              "{\"instruction\": \"Name a colour\", \"input\": \"not red\", \"output\": \"blue\"}\n");
    const std::string model = test::fixture("tiny-llama/base"),
                      adapter = test::fixture("tiny-llama/adapters/lora-qv-r4");
    auto r =
        test::runCli("evaluate --model " + model + " --adapter " + adapter + " --dataset " + tmp.file("eval.jsonl") +
                     " --template alpaca --metrics em,contains,rougeL,bleu,chrf,acc --max-new-tokens 6 --base-too "
                     "--batch-size 2 --quiet --out " +
                     tmp.file("report.json"));
    ASSERT_EQ(r.rc, 0) << r.out;
    EXPECT_NE(r.out.find("rougeL"), std::string::npos) << r.out;
    eval::EvalReport cli = eval::readReport(tmp.file("report.json"));
    ASSERT_TRUE(fs::exists(tmp.file("report.csv")));

    eval::EvalJob job;
    job.modelDir = model;
    job.adapterDir = adapter;
    job.datasetPath = tmp.file("eval.jsonl");
    job.data.templateName = "alpaca";
    job.eval.metrics = {"em", "contains", "rougeL", "bleu", "chrf", "acc"};
    job.eval.maxNewTokens = 6;
    job.eval.batchSize = 3;
    eval::EvalReport mine = eval::runEvalJob(job);
    EXPECT_EQ(cli.sides, (std::vector<std::string>{"base", "tuned"}));
    ASSERT_EQ(cli.rows.size(), 3u);
    ASSERT_EQ(mine.rows.size(), 3u);
    bool anyDiffer = false;
    for (size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(cli.rows[i].prompt, mine.rows[i].prompt);
        EXPECT_EQ(cli.rows[i].references, mine.rows[i].references);
        EXPECT_EQ(cli.rows[i].answers, mine.rows[i].answers) << "row " << i;
        for (const auto& side : cli.sides)
            for (const auto& m : cli.metrics)
                EXPECT_NEAR(cli.rows[i].scores[side][m], mine.rows[i].scores[side][m], 1e-9) << side << " " << m;
        anyDiffer = anyDiffer || cli.rows[i].answers.at("base") != cli.rows[i].answers.at("tuned");
    }
    EXPECT_TRUE(anyDiffer) << "the adapter changes the answers (it is applied on the tuned side)";
    EXPECT_TRUE(cli.classification.count("tuned"));
    // CSV: a header and one line per example (answers here hold no newline after the cut).
    std::ifstream csv(tmp.file("report.csv"));
    std::string header;
    std::getline(csv, header);
    EXPECT_EQ(header.rfind("index,line,prompt,reference,base_answer,base_em", 0), 0u) << header;
    // Errors name the fix.
    r = test::runCli("evaluate --model " + model + " --dataset " + tmp.file("eval.jsonl") +
                     " --metrics em,blue --out " + tmp.file("x.json"));
    EXPECT_EQ(r.rc, 1);
    EXPECT_NE(r.out.find("unknown metric 'blue'"), std::string::npos) << r.out;
}

TEST(TemplateChecks, FireWhenTheEndTokenIsNotATokenOrIsCutOff) {
    test::TempDir tmp;
    writeText(tmp.file("chat.jsonl"),
              "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": "
              "\"Hello there\"}]}\n"
              "{\"messages\": [{\"role\": \"user\", \"content\": \"Bye\"}, {\"role\": \"assistant\", \"content\": "
              "\"Farewell\"}]}\n");
    // GPT-2's byte-level tokenizer has no <|im_end|>: ChatML's end marker becomes several pieces.
    const std::string gpt2 = test::fixture("tiny-gpt2/base");
    auto tok = Tokenizer::load(gpt2);
    data::DatasetConfig dc;
    dc.path = tmp.file("chat.jsonl");
    dc.templateName = "chatml";
    auto w = templateWarnings(dc, *tok, generationEosIds(gpt2));
    ASSERT_EQ(w.size(), 1u) << (w.empty() ? "" : w[0]);
    EXPECT_NE(w[0].find("2 training responses"), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("not a single token"), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("<|endoftext|> (0)"), std::string::npos) << "names what generation stops on: " << w[0];
    // Same data with a template that ends answers with the tokenizer's eos: silent.
    dc.templateName = "plain";
    EXPECT_TRUE(templateWarnings(dc, *tok, generationEosIds(gpt2)).empty());
    // max_length cutting the end token off.
    dc.maxLength = 4;
    w = templateWarnings(dc, *tok, generationEosIds(gpt2));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("cut by max_length 4"), std::string::npos) << w[0];
    // No chat template and none chosen.
    dc.maxLength = 512;
    dc.templateName = "auto";
    w = templateWarnings(dc, *tok, generationEosIds(gpt2));
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("has no chat template"), std::string::npos) << w[0];
    EXPECT_NE(w[0].find("dataset.template"), std::string::npos) << "names the fix";
}

TEST(TemplateChecks, SilentOnTheDemoAndWarnOnADisagreeingTemplate) {
    RunConfig cfg = RunConfig::load(demoDir() + "/run.json");
    EXPECT_TRUE(templateWarnings(cfg).empty());
    PreflightReport pr = preflight(cfg, "cpu");
    for (const auto& w : pr.warnings) EXPECT_EQ(w.find("template"), std::string::npos) << w;
    cfg.dataset["template"] = "zephyr";
    auto w = templateWarnings(cfg);
    ASSERT_FALSE(w.empty());
    EXPECT_NE(w[0].find("zephyr template but the model's tokenizer_config.json chat_template is the chatml template"),
              std::string::npos)
        << w[0];
    // An end-of-turn token that generation_config does not stop on.
    auto tok = Tokenizer::load(cfg.model);
    data::DatasetConfig dc = data::DatasetConfig::fromJson(RunConfig::load(demoDir() + "/run.json").dataset, "dataset");
    w = templateWarnings(dc, *tok, {0});
    ASSERT_EQ(w.size(), 1u);
    EXPECT_NE(w[0].find("generation_config.json"), std::string::npos) << w[0];
}

TEST(EvalDuringTraining, GenerationMetricsGoIntoMetricsJsonl) {
    test::TempDir tmp;
    RunConfig cfg = RunConfig::load(demoDir() + "/run.json");
    cfg.outputDir = tmp.file("run");
    cfg.training.maxSteps = 2;
    cfg.training.evalEvery = 0;
    cfg.training.saveEvery = 0;
    cfg.training.generationEvalEvery = 2;
    cfg.training.generationEvalSamples = 3;
    EXPECT_EQ(RunConfig::fromJson(cfg.toJson(), "round trip").training.generationEvalEvery, 2);
    Trainer trainer(cfg);
    trainer.setup();
    ASSERT_EQ(trainer.run().status, TrainStatus::Finished);
    std::ifstream in(tmp.file("run/metrics.jsonl"));
    std::string line, last;
    while (std::getline(in, line))
        if (!line.empty()) last = line;
    const auto j = nlohmann::json::parse(last);
    for (const char* k : {"gen_em", "gen_contains", "gen_rougeL", "gen_bleu", "gen_chrf"})
        EXPECT_TRUE(j.contains(k)) << k << ": " << last;
    nlohmann::json bad = cfg.toJson();
    bad["training"]["generation_eval_samples"] = 0;
    EXPECT_THROW(RunConfig::fromJson(bad, "run.json"), PeftError);
}
