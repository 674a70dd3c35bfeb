// Prompt tuning's text initialisation needs the model's tokenizer; this fills the token ids in.
#pragma once
#include <nlohmann/json.hpp>

#include "core/tokenizer/tokenizer.h"

namespace peft {

// Returns `config` with "prompt_tuning_init_token_ids" set to tokenizer(prompt_tuning_init_text)
// (special tokens added, as peft calls the tokenizer). attach() reads the ids; the key is removed
// again from the saved adapter_config.json.
nlohmann::json withPromptInitTokens(const nlohmann::json& config, const Tokenizer& tokenizer);

}  // namespace peft
