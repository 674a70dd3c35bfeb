// Dataset preparation: rows -> rendered segments -> token ids with loss labels (-100 = masked),
// truncation, packing, the seeded train/validation split, and the ValidationReport.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/data/chat_template.h"
#include "core/data/dataset_config.h"
#include "core/data/dataset_format.h"
#include "core/data/validation_report.h"

namespace peft {
class Tokenizer;
}

namespace peft::data {

// One training example: ids and causal-LM labels of the same length (kIgnoreIndex where the
// loss is masked), or for classification the class id in classLabel (labels then empty). A
// preference pair holds the chosen sequence (prompt + chosen answer) in inputIds/labels and the
// rejected one in rejectedIds/rejectedLabels; only answer tokens carry labels.
struct PreparedExample {
    std::vector<int64_t> inputIds;
    std::vector<int64_t> labels;
    int64_t classLabel = -1;
    int64_t line = 0;  // source line (0 for packed blocks)
    std::vector<int64_t> rejectedIds, rejectedLabels;
    std::vector<double> refLogps;  // a pair's precomputed reference log-probs {chosen, rejected}, or empty
    bool isPair() const { return !rejectedIds.empty(); }
};

// Fits a preference pair into maxLength: the shared prompt (the positions before the first counted
// label) is cut from the left, keeping at least one token so the first answer token is still
// predicted, then each answer is cut from the right. Returns whether anything was cut. Throws
// RowError naming the side when an answer is left with no counted token.
bool truncatePair(PreparedExample& pair, int64_t maxLength);

struct TokenizedSegments {
    std::vector<int64_t> ids, labels;
};

// Tokenises rendered segments the way the model will see the text at inference: the WHOLE text is
// encoded once (no post-processor), and each segment boundary is placed at the number of leading
// tokens the whole encoding shares with the encoding of the text up to that boundary. So the ids
// are exactly tokenizer(full_text) and only the mask depends on the segments; a token that
// straddles a boundary (a merge across it) belongs to the later segment. With
// `addSpecialTokens`, the tokenizer's post-processor specials (e.g. BOS) are added around the
// text: leading ones untrained, trailing ones take the flag of the last segment.
// With `trainAll` every label equals its id.
TokenizedSegments tokenizeSegments(const Tokenizer& tok, const std::vector<Segment>& segments, bool trainAll,
                                   bool addSpecialTokens);

// Deterministic split of n items: returns a validation flag per item. The validation count is
// round(n * ratio) (so a tiny dataset may get none; the report then warns), never all items. The same seed and
// n give the same split on every platform (mt19937_64 + own Fisher-Yates).
std::vector<bool> splitMask(size_t n, double ratio, uint64_t seed);

// Concatenates examples (an eos is inserted after each one that does not already end with
// `eosId`, when eosId >= 0) and cuts the stream into blocks of maxLength; the final partial block
// is kept.
std::vector<PreparedExample> packExamples(const std::vector<PreparedExample>& examples, int64_t maxLength,
                                          int64_t eosId);

struct PrepareOptions {
    uint64_t seed = 42;                 // the run's training.seed: split determinism
    std::optional<ErrorPolicy> policy;  // overrides DatasetConfig::onError
    std::string baseDir;                // relative dataset paths are resolved against it
    // Polled after reading each file and every 256 rows; when it returns true, prepareDataset
    // stops and throws Cancelled (a GUI import the user cancelled, a run stopped while preparing).
    std::function<bool()> cancelled;
};

// Thrown by prepareDataset when PrepareOptions::cancelled asked it to stop.
struct Cancelled : std::runtime_error {
    Cancelled() : std::runtime_error("dataset preparation cancelled") {}
};

struct PreparedDataset {
    DataFormat format = DataFormat::Text;
    std::optional<TemplateKind> templateKind;  // instruction/chat only
    std::vector<PreparedExample> train, validation;
    std::vector<std::string> labelNames;  // classification: id -> name (num_labels = size)
    int64_t padId = 0;                    // tokenizer pad, else eos, else 0
    int64_t eosId = -1;
    ValidationReport report;
};

// Reads, validates and prepares a dataset. With `tok` == nullptr only what needs no tokenizer is
// done (rows, formats, rejections, the rendered example; `tokens` rows are still prepared): this
// is the inspection mode of `peft-studio-cli dataset`. With a tokenizer it is the trainer's
// input; it throws PeftError when no usable row is left or when template "auto" cannot be
// resolved. Bad rows are skipped and reported, or throw "<file>:<line>: <reason>" under
// ErrorPolicy::Stop.
PreparedDataset prepareDataset(const DatasetConfig& cfg, const Tokenizer* tok, const PrepareOptions& opts = {});

}  // namespace peft::data
