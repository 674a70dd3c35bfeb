// What the Model page shows about a Hugging Face model folder, read from config.json and the
// safetensors headers only (no weights are loaded).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/io/model_config.h"

namespace peft::ui {

struct ModelSummary {
    std::string folder;
    ModelConfig config;
    std::string familyName;    // "GPT-2", "Llama (llama)", ...
    int64_t baseParams = 0;    // from config.json (core/io/architecture.h)
    int64_t fileParams = 0;    // numel summed over the safetensors headers
    std::string weightDtype;   // dominant dtype in the weight files ("F32", "BF16", ...)
    uint64_t weightBytes = 0;  // size of the weight files
    uint64_t folderBytes = 0;  // every regular file in the folder
    std::vector<std::string> weightFiles;
    bool hasTokenizer = false;  // tokenizer.json present
    std::vector<std::string> warnings;
};

// Reads `folder`. Throws PeftError (naming the file and what to do) when the folder is not a
// supported model: no config.json, unsupported model_type, no safetensors weights, only
// pickle (.bin/.pt) weights.
ModelSummary inspectModelFolder(const std::string& folder);

// "1.23 M", "7.00 B"
std::string humanCount(int64_t n);
// "4.2 MB"
std::string humanBytes(uint64_t n);

}  // namespace peft::ui
