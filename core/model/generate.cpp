// Decoding loop over the KV cache.
#include "core/model/generate.h"

#include "core/util/error.h"

namespace peft {

int64_t pickToken(torch::Tensor logits, const std::vector<int64_t>& history, const GenerateOptions& o,
                  at::Generator& gen) {
    logits = logits.to(torch::kFloat32).clone();  // [V]
    if (o.repetitionPenalty != 1.0 && !history.empty()) {
        // transformers: divide positive logits, multiply negative ones, for tokens already seen.
        torch::Tensor idx = std::get<0>(at::_unique(torch::tensor(history, torch::kInt64))).to(logits.device());
        torch::Tensor seen = logits.index_select(0, idx);
        seen = torch::where(seen < 0, seen * o.repetitionPenalty, seen / o.repetitionPenalty);
        logits.index_copy_(0, idx, seen);
    }
    if (o.greedy || o.temperature <= 0) return logits.argmax().item<int64_t>();
    logits = logits / o.temperature;
    const int64_t V = logits.size(0);
    if (o.topK > 0 && o.topK < V) {
        auto kth = std::get<0>(logits.topk(o.topK)).min();
        logits = logits.masked_fill(logits < kth, -std::numeric_limits<float>::infinity());
    }
    if (o.topP > 0 && o.topP < 1.0) {
        auto [sorted, order] = logits.sort(/*stable=*/false, /*dim=*/0, /*descending=*/true);
        torch::Tensor cum = sorted.softmax(0).cumsum(0);
        // Drop tokens once the mass before them already exceeds top_p; the top token always stays.
        torch::Tensor drop = (cum - sorted.softmax(0)) > o.topP;
        logits = logits.index_fill(0, order.masked_select(drop), -std::numeric_limits<float>::infinity());
    }
    torch::Tensor probs = logits.softmax(0);
    return torch::multinomial(probs.cpu(), 1, false, gen).item<int64_t>();
}

std::vector<int64_t> generateIds(CausalLMImpl& model, const std::vector<int64_t>& prompt, const GenerateOptions& opts,
                                 const std::function<bool(int64_t)>& onToken) {
    if (prompt.empty()) throw PeftError("generate: the prompt is empty");
    torch::NoGradGuard ng;
    bool wasTraining = model.is_training();
    model.eval();
    std::vector<int64_t> stops = opts.stopIds;
    if (stops.empty()) stops = model.config().eosTokenIds;
    at::Generator gen = at::detail::createCPUGenerator(opts.seed);
    auto dev = model.parameters().empty() ? torch::Device(torch::kCPU) : model.parameters().front().device();
    KVCache cache;
    std::vector<int64_t> history = prompt, out;
    torch::Tensor input = torch::tensor(prompt, torch::kInt64).unsqueeze(0).to(dev);  // [1,T]
    // Learned position tables end at max_position_embeddings; rotary positions do not.
    const int64_t limit =
        model.table().traits.positions == PositionKind::Learned ? model.config().maxPositions : INT64_MAX;
    for (int64_t i = 0; i < opts.maxNewTokens; ++i) {
        if (cache.length() + input.size(1) > limit) break;
        torch::Tensor logits = model.forward(input, {}, &cache);  // [1,T,V]
        int64_t next = pickToken(logits[0][-1], history, opts, gen);
        if (std::find(stops.begin(), stops.end(), next) != stops.end()) break;
        out.push_back(next);
        history.push_back(next);
        if (onToken && !onToken(next)) break;
        input = torch::tensor({next}, torch::kInt64).unsqueeze(0).to(dev);
    }
    if (wasTraining) model.train();
    return out;
}

std::string generateText(CausalLMImpl& model, const Tokenizer& tok, const std::string& prompt,
                         const GenerateOptions& opts, const std::function<bool(const std::string&)>& onText) {
    std::vector<int64_t> ids = tok.encode(prompt, true);
    GenerateOptions o = opts;
    if (o.stopIds.empty()) {
        o.stopIds = model.config().eosTokenIds;
        if (auto e = tok.eosId()) o.stopIds.push_back(*e);
    }
    std::vector<int64_t> produced;
    std::string shown;
    bool stopped = false;
    generateIds(model, ids, o, [&](int64_t id) {
        produced.push_back(id);
        std::string text = tok.decode(produced, true);
        // Hold back an incomplete UTF-8 sequence (byte-level tokens can split a character).
        if (!text.empty() && (static_cast<unsigned char>(text.back()) & 0x80)) {
            size_t k = text.size();
            while (k > 0 && (static_cast<unsigned char>(text[k - 1]) & 0xC0) == 0x80) --k;
            if (k > 0) {
                unsigned char lead = static_cast<unsigned char>(text[k - 1]);
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (text.size() - (k - 1) < need) text.resize(k - 1);
            }
        }
        for (const auto& s : o.stopStrings) {
            auto pos = text.find(s);
            if (!s.empty() && pos != std::string::npos) {
                text.resize(pos);
                stopped = true;
            }
        }
        if (text.size() > shown.size() && text.compare(0, shown.size(), shown) == 0) {
            std::string piece = text.substr(shown.size());
            shown = text;
            if (onText && !onText(piece)) return false;
        } else {
            shown = text;
        }
        return !stopped;
    });
    return shown;
}

}  // namespace peft
