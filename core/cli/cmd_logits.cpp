// `peft-studio-cli logits`: run a model (optionally with an adapter) on input_ids from a
// safetensors file and write the float32 logits (classification adapters: [B, labels]).
#include <iostream>

#include "core/cli/args.h"
#include "core/cli/commands.h"
#include "core/io/tensor_io.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/util/error.h"

namespace peft::cli {

int cmdLogits(const std::vector<std::string>& argv) {
    Args a(argv, {"model", "adapter", "input", "out", "dtype", "pad-token-id"}, {}, "logits");
    const std::string in = a.require("input"), out = a.require("out");
    ModelOptions opts;
    if (a.has("dtype")) opts.dtype = parseDtype(a.get("dtype"));
    auto loaded = loadModel(a.require("model"), opts);
    if (a.has("pad-token-id")) loaded.model->setPadTokenId(a.getInt("pad-token-id", -1));
    Adapter ad;
    if (a.has("adapter")) ad = loadAdapter(*loaded.model, a.get("adapter"));
    auto inputs = loadSafetensors(in);
    auto it = inputs.find("input_ids");
    if (it == inputs.end()) fail(in, "no tensor 'input_ids'", "Write int64 input_ids [batch, tokens].");
    torch::Tensor ids = it->second.to(torch::kInt64);
    if (ids.dim() != 2) fail(in, "'input_ids' must be [batch, tokens]", "");
    torch::Tensor mask;
    if (inputs.count("attention_mask")) mask = inputs.at("attention_mask").to(torch::kInt64);
    if (mask.defined() && mask.sizes() != ids.sizes())
        fail(in, "'attention_mask' must have the shape of input_ids", "");
    torch::NoGradGuard ng;
    torch::Tensor logits =
        loaded.model->classification() ? loaded.model->classify(ids, mask) : loaded.model->forward(ids, mask);
    saveSafetensors(out, {{"logits", logits.to(torch::kFloat32).contiguous()}});
    std::cout << "logits [";
    for (int64_t i = 0; i < logits.dim(); ++i) std::cout << (i ? "," : "") << logits.size(i);
    std::cout << "] -> " << out << "\n";
    return 0;
}

}  // namespace peft::cli
