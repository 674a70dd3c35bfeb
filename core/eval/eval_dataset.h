// What an evaluation runs on: prompts with reference answers (generation) or questions with
// choices (multiple choice), read from any dataset file the importer takes or from a run's own
// validation split, rendered with the run's prompt template exactly as training rendered them.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data/chat_template.h"
#include "core/data/dataset_file.h"

namespace peft {
class Tokenizer;
struct RunConfig;
}  // namespace peft

namespace peft::eval {

struct EvalItem {
    int64_t line = 0;                     // 1-based line of the row in its file
    std::string prompt;                   // generation: the text the model continues (template applied);
                                          // multiple choice: the context (few-shot prefix included)
    std::vector<std::string> references;  // generation
    std::vector<std::string> choices;     // multiple choice
    int64_t answer = -1;                  // multiple choice: index into choices
};

struct EvalSet {
    std::string file;
    std::string format;  // instruction | chat | classification | choices
    std::optional<data::TemplateKind> templateKind;
    std::vector<EvalItem> items;
    std::vector<data::Rejection> rejections;  // rows that could not become items, with the reason
};

struct EvalDataOptions {
    std::string format = "auto";  // auto | instruction | chat | classification
    std::string templateName = "auto";
    std::map<std::string, std::string> columnMapping;
    int64_t limit = -1;  // first N items (-1: all)
};

// The token a template ends each answer with: <|im_end|> (chatml), <|eot_id|> (llama3), else eos.
// Generation stops on it, so training must put it at the end of every response.
std::string templateEndToken(data::TemplateKind k, const data::TemplateTokens& t);
// The template's token strings as prepareDataset uses them (the tokenizer's bos/eos override the defaults).
data::TemplateTokens tokenizerTemplateTokens(data::TemplateKind k, const Tokenizer* tok);

// A generation set from a dataset file. Instruction rows: the prompt is the rendered instruction
// (and input) up to where the response starts, the reference the output. Chat rows: the
// conversation before the last assistant message, with the template's generation prompt, the
// reference that message. Classification rows: the text, the label as reference. Text and token
// rows have no reference and are refused. The template is resolved as training resolves it
// (resolveTemplate with the tokenizer's chat_template, which may be null for a built-in name).
EvalSet loadGenerationSet(const std::string& path, const EvalDataOptions& opts, const Tokenizer* tok);

// The validation rows of a run, split exactly as training split them (same seed, same
// accepted rows), as a generation set.
EvalSet runValidationSet(const RunConfig& run, const Tokenizer& tok, int64_t limit = -1);

// A multiple-choice set: JSONL/JSON rows {"question" or "context": str, "choices": [str, ...],
// "answer": index or the correct choice's text}. With fewshot > 0 the first `fewshot` rows become
// the few-shot prefix (context + " " + correct choice, joined by blank lines, as
// lm-evaluation-harness builds it) and are not scored.
EvalSet loadChoiceSet(const std::string& path, int64_t fewshot = 0, int64_t limit = -1);

}  // namespace peft::eval
