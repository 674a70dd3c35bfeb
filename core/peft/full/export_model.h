// Writes a model as a Hugging Face model folder that transformers loads: config.json,
// model.safetensors under HF names, tokenizer files copied. Serves FULL fine-tuning and
// "export merged model" after a LoRA/DoRA/(IA)3 merge.
#pragma once
#include <string>

#include "core/model/causal_lm.h"

namespace peft {

// GPT-2 Conv1D weights stay [in,out]; tied weights are written once; NF4-quantised weights are
// written dequantised. srcDir (may be empty) supplies tokenizer and generation files.
void exportModelFolder(const CausalLMImpl& model, const std::string& srcDir, const std::string& outDir);

// The model's weights under Hugging Face names as exportModelFolder writes them (dense, CPU,
// GPT-2 Conv1D [in,out]; tied lm_head absent). GGUF export reads the same list.
std::vector<std::pair<std::string, torch::Tensor>> exportTensors(const CausalLMImpl& model);

}  // namespace peft
