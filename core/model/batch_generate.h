// Greedy generation for many prompts at once over one KV cache: rows are left-padded to a common
// length and each row stops on its own (EOS, stop string, token budget).
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "core/model/causal_lm.h"
#include "core/tokenizer/tokenizer.h"

namespace peft {

struct BatchGenerateOptions {
    int64_t maxNewTokens = 64;
    std::vector<int64_t> stopIds;          // empty: the config's eos ids and the tokenizer's eos
    std::vector<std::string> stopStrings;  // the answer is cut before the first one
    int64_t batchSize = 8;
    const std::atomic<bool>* cancel = nullptr;  // polled every step; stops with what is done
};

// Greedy continuations of `prompts` (token ids), decoded with skip_special_tokens. Equal to
// generateIds/generateText with greedy=true for each prompt alone: with RoPE the attention scores
// depend only on relative positions and padded keys are masked, so left padding changes nothing;
// GPT-2's learned absolute positions would shift, so there only prompts of equal length share a
// batch. `onDone(i, text)` is called as each row finishes. Returns one answer per prompt
// (rows not reached before a cancel stay empty).
std::vector<std::string> generateGreedyBatch(CausalLMImpl& model, const Tokenizer& tok,
                                             const std::vector<std::vector<int64_t>>& prompts,
                                             const BatchGenerateOptions& opts,
                                             const std::function<void(size_t, const std::string&)>& onDone = {});

// A prompt's ids as training tokenised the same text: the tokenizer's leading special tokens (BOS)
// when `addSpecials`, never the trailing ones (an EOS after a prompt would end it).
std::vector<int64_t> encodePrompt(const Tokenizer& tok, const std::string& prompt, bool addSpecials);

// The answer cut before the first stop string (empty strings ignored).
std::string cutAtStop(const std::string& text, const std::vector<std::string>& stops, bool* cut = nullptr);

}  // namespace peft
