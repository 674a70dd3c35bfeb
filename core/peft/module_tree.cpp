// ModuleTree from ArchTable: the leaf modules of a GPT-2 or Llama-family model with their shapes.
#include "core/peft/module_tree.h"

#include "core/util/error.h"

namespace peft {

int64_t ModuleEntry::weightParams() const {
    switch (kind) {
        case ModuleKind::Norm: return in;
        default: return in * out;
    }
}

TaskHead taskHeadFromConfig(const nlohmann::json& cfg, const std::string& where) {
    if (!cfg.is_object() || !cfg.contains("task_type") || cfg["task_type"].is_null()) return TaskHead::CausalLm;
    if (!cfg["task_type"].is_string())
        fail(where, "key 'task_type' must be a string", "Use \"CAUSAL_LM\" or \"SEQ_CLS\".");
    const std::string t = cfg["task_type"].get<std::string>();
    if (t == "CAUSAL_LM") return TaskHead::CausalLm;
    if (t == "SEQ_CLS") return TaskHead::SequenceClassification;
    fail(where, "task_type '" + t + "' is not supported", "Use \"CAUSAL_LM\" or \"SEQ_CLS\".");
}

ModuleTree moduleTree(const ModelConfig& c, TaskHead head) {
    ModuleTree t;
    t.arch = archTable(c);
    const ArchTable& a = t.arch;
    const std::string& lp = a.layerPrefix;
    t.layerContainer = lp.substr(lp.rfind('.') + 1);
    auto shortOf = [](const std::string& p) { return p.substr(p.rfind('.') + 1); };
    t.modules.reserve(static_cast<size_t>(c.numLayers) * (a.linears.size() + a.norms.size()) + 5);

    ModuleEntry emb;
    emb.path = a.embedTokens;
    emb.name = shortOf(emb.path);
    emb.kind = ModuleKind::Embedding;
    emb.in = c.vocabSize;
    emb.out = c.hiddenSize;
    t.modules.push_back(emb);
    if (!a.embedPositions.empty()) {
        ModuleEntry pos = emb;
        pos.path = a.embedPositions;
        pos.name = shortOf(pos.path);
        pos.in = c.maxPositions;
        t.modules.push_back(pos);
    }
    for (int64_t l = 0; l < c.numLayers; ++l) {
        // transformers registers the norms and linears in this order inside a layer.
        for (size_t i = 0; i < a.linears.size(); ++i) {
            const LinearSpec& s = a.linears[i];
            ModuleEntry m;
            m.path = a.modulePath(l, s.path);
            m.name = s.name;
            m.kind = ModuleKind::Linear;
            m.layer = l;
            m.linearIndex = static_cast<int>(i);
            m.in = s.in;
            m.out = s.out;
            m.bias = s.bias;
            m.conv1d = s.conv1d;
            m.feedforwardOutput = s.feedforwardInput;
            t.modules.push_back(std::move(m));
        }
        for (const NormSpec& n : a.norms) {
            ModuleEntry m;
            m.path = a.modulePath(l, n.path);
            m.name = shortOf(n.path);
            m.kind = ModuleKind::Norm;
            m.layer = l;
            m.in = m.out = n.size;
            m.bias = n.bias;
            t.modules.push_back(std::move(m));
        }
    }
    ModuleEntry fn;
    fn.path = a.finalNormSpec.path;
    fn.name = shortOf(fn.path);
    fn.kind = ModuleKind::Norm;
    fn.in = fn.out = a.finalNormSpec.size;
    fn.bias = a.finalNormSpec.bias;
    t.modules.push_back(fn);

    ModuleEntry h;
    h.kind = ModuleKind::Head;
    h.in = c.hiddenSize;
    if (head == TaskHead::CausalLm) {
        h.path = h.name = a.lmHead;
        h.out = c.vocabSize;
        h.tiedToEmbedding = c.tieWordEmbeddings;
    } else {
        h.path = h.name = "score";
        h.out = c.numLabels;
    }
    t.modules.push_back(h);

    for (const auto& m : t.modules)
        if (!m.tiedToEmbedding) t.baseParams += m.params();
    return t;
}

}  // namespace peft
