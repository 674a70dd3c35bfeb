// Chat-template and end-of-sequence checks before training: the most reported cause of "the
// fine-tuned model never stops" is a response that does not end with the token generation stops on.
#pragma once
#include <string>
#include <vector>

#include "core/data/dataset_config.h"

namespace peft {
class Tokenizer;
struct RunConfig;

// The token ids generation stops on for a model folder: generation_config.json's eos_token_id
// (what transformers' generate uses), else config.json's; empty when neither has one.
std::vector<int64_t> generationEosIds(const std::string& modelDir);

// For chat and instruction datasets (other formats: none):
// - every training response (the first `maxRows` rows, rendered and tokenised as training does,
//   max_length applied) must end with a token generation stops on: the template's end-of-turn
//   token when it is one token of this vocabulary, or one of `eosIds`; otherwise the model never
//   learns to stop;
// - a response ending in an end-of-turn token that is not in `eosIds` stops in PEFT Studio and in
//   chat front-ends but not in transformers' generate;
// - the run's template and the tokenizer's chat_template disagree;
// - the model has no chat_template and the run chose none (template "auto").
// Each warning says what to change. Never throws for bad data (the real preparation reports it).
std::vector<std::string> templateWarnings(const data::DatasetConfig& dataset, const Tokenizer& tok,
                                          const std::vector<int64_t>& eosIds, size_t maxRows = 2000);

// The same for a run config (loads the model folder's tokenizer); empty when it cannot be loaded.
std::vector<std::string> templateWarnings(const RunConfig& cfg);

}  // namespace peft
