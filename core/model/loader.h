// Loads a local Hugging Face model folder: config.json + model.safetensors (or a sharded
// index). Weights are mapped, not copied, when the stored dtype is the run dtype.
#pragma once
#include <string>
#include <vector>

#include "core/model/causal_lm.h"

namespace peft {

struct LoadedModel {
    CausalLM model;
    std::string dir;
    std::vector<std::string> weightFiles;
    int64_t bytesOnDisk = 0;
};

// Throws PeftError naming the file and tensor: a missing tensor, a shape mismatch, a pickle
// checkpoint (refused with how to convert it), an unsupported config.
LoadedModel loadModel(const std::string& dir, const ModelOptions& options = {});

// The safetensors files of a model folder (single or sharded); refuses pickle checkpoints.
std::vector<std::string> modelWeightFiles(const std::string& dir);

torch::Dtype parseDtype(const std::string& name);  // "fp32"/"float32", "bf16"/"bfloat16", "fp16"/"float16"

}  // namespace peft
