// Batched greedy decoding: left padding, one KV cache per batch, finished rows dropped from it.
#include "core/model/batch_generate.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/util/error.h"

namespace peft {

std::vector<int64_t> encodePrompt(const Tokenizer& tok, const std::string& prompt, bool addSpecials) {
    std::vector<int64_t> ids = tok.encode(prompt, false);
    if (!addSpecials) return ids;
    const std::vector<int64_t> full = tok.encode(prompt, true);
    // The post-processor's leading specials are whatever precedes the plain encoding in `full`.
    for (size_t k = 0; k + ids.size() <= full.size(); ++k)
        if (std::equal(ids.begin(), ids.end(), full.begin() + static_cast<std::ptrdiff_t>(k))) {
            std::vector<int64_t> out(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(k));
            out.insert(out.end(), ids.begin(), ids.end());
            return out;
        }
    return ids;
}

std::string cutAtStop(const std::string& text, const std::vector<std::string>& stops, bool* cut) {
    size_t end = text.size();
    for (const auto& s : stops) {
        if (s.empty()) continue;
        auto pos = text.find(s);
        if (pos != std::string::npos) end = std::min(end, pos);
    }
    if (cut) *cut = end < text.size();
    return text.substr(0, end);
}

std::vector<std::string> generateGreedyBatch(CausalLMImpl& model, const Tokenizer& tok,
                                             const std::vector<std::vector<int64_t>>& prompts,
                                             const BatchGenerateOptions& opts,
                                             const std::function<void(size_t, const std::string&)>& onDone) {
    torch::NoGradGuard ng;
    const bool wasTraining = model.is_training();
    model.eval();
    std::vector<int64_t> stops = opts.stopIds;
    if (stops.empty()) {
        stops = model.config().eosTokenIds;
        if (auto e = tok.eosId()) stops.push_back(*e);
    }
    const auto dev = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
    const bool absolutePositions = model.config().family == Family::Gpt2;
    const int64_t limit = absolutePositions ? model.config().maxPositions : INT64_MAX;
    const int64_t batchSize = std::max<int64_t>(1, opts.batchSize);
    for (size_t i = 0; i < prompts.size(); ++i)
        if (prompts[i].empty()) throw PeftError("generate: prompt " + std::to_string(i) + " is empty");

    // Batches: prompts sorted by length (less padding); with absolute positions only equal lengths together.
    std::vector<size_t> order(prompts.size());
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return prompts[a].size() < prompts[b].size(); });
    std::vector<std::vector<size_t>> batches;
    for (size_t i : order) {
        if (batches.empty() || static_cast<int64_t>(batches.back().size()) >= batchSize ||
            (absolutePositions && prompts[batches.back().front()].size() != prompts[i].size()))
            batches.emplace_back();
        batches.back().push_back(i);
    }

    std::vector<std::string> answers(prompts.size());
    auto cancelled = [&] { return opts.cancel && opts.cancel->load(); };
    for (const auto& batch : batches) {
        if (cancelled()) break;
        const int64_t B = static_cast<int64_t>(batch.size());
        size_t maxLen = 0;
        for (size_t i : batch) maxLen = std::max(maxLen, prompts[i].size());
        const int64_t T = static_cast<int64_t>(maxLen);
        torch::Tensor ids = torch::zeros({B, T}, torch::kInt64);   // [B,T], left-padded
        torch::Tensor mask = torch::zeros({B, T}, torch::kInt64);  // 1 = token
        for (int64_t r = 0; r < B; ++r) {
            const auto& p = prompts[batch[static_cast<size_t>(r)]];
            const int64_t off = T - static_cast<int64_t>(p.size());
            ids[r].slice(0, off) = torch::tensor(p, torch::kInt64);
            mask[r].slice(0, off).fill_(1);
        }
        std::vector<size_t> active(batch.begin(), batch.end());  // original indices of the cache's rows
        std::map<size_t, std::vector<int64_t>> produced;
        KVCache cache;
        torch::Tensor input = ids.to(dev), inMask = mask.to(dev);
        for (int64_t step = 0; step < opts.maxNewTokens && !active.empty(); ++step) {
            if (cancelled() || cache.length() + input.size(1) > limit) break;
            torch::Tensor logits = model.forward(input, inMask, &cache);  // [n,t,V]
            // Greedy as pickToken: argmax of the float32 logits of the last position.
            torch::Tensor next = logits.select(1, logits.size(1) - 1).to(torch::kFloat32).argmax(-1).cpu();  // [n]
            std::vector<int64_t> keep;
            std::vector<int64_t> nextIds;
            for (size_t r = 0; r < active.size(); ++r) {
                const size_t idx = active[r];
                const int64_t id = next[static_cast<int64_t>(r)].item<int64_t>();
                bool done = std::find(stops.begin(), stops.end(), id) != stops.end();
                if (!done) {
                    produced[idx].push_back(id);
                    bool cut = false;
                    answers[idx] = cutAtStop(tok.decode(produced[idx], true), opts.stopStrings, &cut);
                    done = cut || static_cast<int64_t>(produced[idx].size()) >= opts.maxNewTokens;
                }
                if (done) {
                    if (onDone) onDone(idx, answers[idx]);
                } else {
                    keep.push_back(static_cast<int64_t>(r));
                    nextIds.push_back(id);
                }
            }
            if (keep.size() != active.size()) {
                // Drop finished rows from the cache: [n,...] -> [keep,...].
                torch::Tensor sel = torch::tensor(keep, torch::kInt64).to(dev);
                for (auto& l : cache.layers) {
                    if (l.k.defined()) l.k = l.k.index_select(0, sel);
                    if (l.v.defined()) l.v = l.v.index_select(0, sel);
                }
                cache.keyMask = cache.keyMask.index_select(0, sel);
                std::vector<size_t> still;
                for (int64_t r : keep) still.push_back(active[static_cast<size_t>(r)]);
                active.swap(still);
            }
            if (active.empty()) break;
            input = torch::tensor(nextIds, torch::kInt64).unsqueeze(1).to(dev);  // [n,1]
            inMask = torch::ones({static_cast<int64_t>(active.size()), 1}, torch::kInt64).to(dev);
        }
        // Rows still going when the budget, the context or a cancel stopped the batch.
        if (!cancelled())
            for (size_t idx : active)
                if (onDone) onDone(idx, answers[idx]);
    }
    if (wasTraining) model.train();
    return answers;
}

}  // namespace peft
