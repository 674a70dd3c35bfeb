// Bridge between safetensors files and torch tensors: zero-copy views on load, atomic save.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/io/safetensors.h"

namespace peft {

torch::Dtype toTorchDtype(st::DType d);
st::DType toStDtype(torch::Dtype d);

// A tensor viewing the mapped bytes (no copy); it keeps the file mapped while alive.
// Misaligned data is copied, since some kernels assume natural alignment.
torch::Tensor tensorFromFile(const std::shared_ptr<st::File>& file, const st::TensorInfo& info);

// All tensors of a file, by name (zero-copy).
std::map<std::string, torch::Tensor> loadSafetensors(const std::string& path,
                                                     std::map<std::string, std::string>* metadata = nullptr);

// Saves contiguous CPU copies atomically, in name order.
void saveSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata = {});

// "[2, 3]".
std::string shapeString(const torch::IntArrayRef& s);

// `saved[key]` checked against what it will be copied into: a missing key, or a shape other than
// `like`'s, is an error naming `where`, the key and both shapes; `fix` says what to do.
const torch::Tensor& savedTensorLike(const std::map<std::string, torch::Tensor>& saved, const std::string& key,
                                     const torch::Tensor& like, const std::string& where, const std::string& fix);

}  // namespace peft
