// Runs an evaluation with a loaded model: generation scored by the text metrics, or multiple
// choice scored by log-likelihood as lm-evaluation-harness does; base (adapter off) and tuned
// (adapter on) on the same model object. Progress and cancel for the GUI's worker thread.
#pragma once
#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/eval/eval_dataset.h"
#include "core/eval/eval_report.h"
#include "core/eval/text_metric.h"
#include "core/train/run_config.h"

namespace peft {
class CausalLMImpl;
class Tokenizer;
}  // namespace peft

namespace peft::eval {

struct EvalOptions {
    std::vector<std::string> metrics = {"em", "contains", "rougeL", "bleu", "chrf"};
    MetricOptions metricOptions;
    int64_t maxNewTokens = 64;
    std::vector<std::string> stopStrings;
    int64_t batchSize = 8;
    std::vector<std::string> sides = {"base", "tuned"};  // "base": adapter off; "tuned": adapter on
    // (done, total) after each finished example; total counts every side.
    std::function<void(int64_t, int64_t)> onProgress;
    const std::atomic<bool>* cancel = nullptr;
};

// Generation: each item's prompt (template applied by the set) is answered greedily and scored
// against its references. The per-example score is the metric's own (sentence BLEU/chrF for the
// corpus metrics); the aggregate is the metric's corpus score; mean-based metrics get standard
// errors; "acc" adds accuracy, macro-F1 and the confusion matrix of the normalised answers.
EvalReport evaluateGeneration(CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set, const EvalOptions& opts);

// Multiple choice (metrics acc and acc_norm, with standard errors), as lm-evaluation-harness's
// HFLM loglikelihood + multiple_choice process_results: continuation " " + choice; trailing
// whitespace of the context moves to the continuation; context and context+continuation encoded
// without special tokens, the continuation's tokens = whole[len(context tokens):]; an empty
// context becomes the EOS token; the summed log-probability of the continuation's tokens;
// acc = argmax, acc_norm = argmax of loglikelihood / len(choice) in characters.
EvalReport evaluateChoices(CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set, const EvalOptions& opts);

// The token ids generation stops on for a set: the model's eos ids, the tokenizer's eos, and the
// template's end-of-turn token (<|im_end|>, <|eot_id|>) when the vocabulary has it.
std::vector<int64_t> stopIdsFor(const CausalLMImpl& model, const Tokenizer& tok, const EvalSet& set);

// One evaluation from folders and files, as both the CLI and the Evaluate page run it (so their
// rows agree): load the model (and adapter), build the set, evaluate.
struct EvalJob {
    std::string modelDir;
    std::string adapterDir;        // empty: no adapter (only "base" is evaluated)
    std::string tunedModelDir;     // a whole tuned model (a full fine-tuning run's output): the tuned side
    std::optional<RunConfig> run;  // with no datasetPath: the run's validation split
    std::string datasetPath;       // a file to evaluate on instead
    EvalDataOptions data;          // format, template, column mapping, limit for datasetPath
    bool choices = false;          // datasetPath holds multiple-choice rows
    int64_t fewshot = 0;
    int64_t limit = -1;
    bool baseToo = true;  // with an adapter: also the base model
    std::string precision = "fp32";
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    EvalOptions eval;             // metrics, generation limits, progress, cancel (sides set here)
};

// The job for a run: its model, <output_dir>/adapter when it exists, its validation split.
EvalJob jobForRun(const RunConfig& run);
// Where a run keeps its latest evaluation: <output_dir>/evaluation/report.json (and .csv).
std::string runReportPath(const std::string& outputDir);

EvalReport runEvalJob(EvalJob job);

}  // namespace peft::eval
