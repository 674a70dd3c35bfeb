// Text generation with a KV cache: greedy or sampled (temperature, top-k, top-p, repetition
// penalty), stopping at EOS, stop strings, a token budget, or when the callback says so.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/model/causal_lm.h"
#include "core/tokenizer/tokenizer.h"

namespace peft {

struct GenerateOptions {
    int64_t maxNewTokens = 64;
    bool greedy = false;
    double temperature = 0.8;
    int64_t topK = 50;   // 0 disables
    double topP = 0.95;  // 1 disables
    double repetitionPenalty = 1.0;
    std::vector<int64_t> stopIds;          // EOS ids; filled from the config when empty
    std::vector<std::string> stopStrings;  // checked on the decoded continuation
    uint64_t seed = 0;
};

// Generates from token ids. onToken(id) returning false stops early (cancel). Returns new ids.
std::vector<int64_t> generateIds(CausalLMImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& opts,
                                 const std::function<bool(int64_t)>& onToken = {});

// Generates from text; onText receives each newly decoded piece (for streaming) and may return
// false to stop. Returns the continuation with any stop string cut off.
std::string generateText(CausalLMImpl& model, const Tokenizer& tok, const std::string& prompt,
                         const GenerateOptions& opts, const std::function<bool(const std::string&)>& onText = {});

// Next-token choice from logits [V] (exposed for tests).
int64_t pickToken(torch::Tensor logits, const std::vector<int64_t>& history, const GenerateOptions& opts,
                  at::Generator& gen);

}  // namespace peft
