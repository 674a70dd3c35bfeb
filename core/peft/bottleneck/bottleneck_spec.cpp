// Bottleneck adapters' MethodSpec (our BOTTLENECK_ADAPTER type; peft has none; key names follow
// AdapterHub where it has them). Each adapter is down [b, H] + bias [b], a non-linearity, up
// [H, b] + bias [H], added to its input: h + up(act(down(h))). Houlsby puts one after the
// attention block and one after the feed-forward block of every layer; Pfeiffer only the latter.
// b = bottleneck_size, or hidden_size // reduction_factor.
// Saved keys: base_model.model.<layer>.mh_adapter.adapter_{down,up}.{weight,bias} and output_adapter.
#include <cmath>

#include "core/peft/method_spec.h"
#include "core/peft/module_tree.h"
#include "core/peft/spec_util.h"
#include "core/peft/target_match.h"
#include "core/util/error.h"

namespace peft {

namespace {

class BottleneckSpec : public spec::PlannedSpec {
public:
    BottleneckSpec() : PlannedSpec({"BOTTLENECK_ADAPTER", "Bottleneck adapter"}) {}

    struct Shape {
        int64_t b = 0;
        bool attn = false, ffn = true;
    };
    Shape shape(const ModelConfig& mc, const nlohmann::json& cfg, const std::string& where) const {
        Shape s;
        const bool houlsby = spec::getString(cfg, "architecture", "houlsby") == "houlsby";
        s.attn = spec::getBool(cfg, "mh_adapter", houlsby);
        s.ffn = spec::getBool(cfg, "output_adapter", true);
        s.b = spec::getInt(cfg, "bottleneck_size",
                           static_cast<int64_t>(std::floor(static_cast<double>(mc.hiddenSize) /
                                                           spec::getNumber(cfg, "reduction_factor", 16.0))));
        if (s.b < 1)
            fail(where, "the bottleneck is narrower than 1 unit (hidden " + std::to_string(mc.hiddenSize) + ")",
                 "Lower reduction_factor or set bottleneck_size.");
        if (!s.attn && !s.ffn) fail(where, "mh_adapter and output_adapter are both false: no adapter is placed", "");
        return s;
    }

    TrainingFootprint footprint(const ModelConfig& mc, const nlohmann::json& cfg) const override {
        TrainingFootprint f = spec::emptyFootprint(mc);
        plan(mc, cfg, nullptr, &f);
        return f;
    }

    std::vector<MethodCard> cards() const override {
        // One card per architecture, which fixes the key of the same name; adapters after
        // attention too for Houlsby.
        auto adapters = [this](const char* architecture, const char* name, bool afterAttention, const char* summary) {
            MethodCard c = card(architecture, summary, CardDiagram::Place::Adapters);
            c.name = name;
            c.fixed = {{"architecture", architecture}};
            c.params = {CardParam::integer("reduction_factor", "Reduction factor", 1, 4096),
                        CardParam::choice("non_linearity", "Activation", {"relu", "gelu", "gelu_new", "silu", "tanh"})};
            c.diagram.afterAttention = afterAttention;
            return c;
        };
        MethodCard houlsby = adapters("houlsby", "Adapter (Houlsby)", true,
                                      "Inserts a small bottleneck network after the attention and after the "
                                      "feed-forward sub-layer of every block. Only these adapters are trained.");
        MethodCard pfeiffer = adapters("pfeiffer", "Adapter (Pfeiffer)", false,
                                       "Like Houlsby adapters, but with a single bottleneck after the feed-forward "
                                       "sub-layer. Half the adapters, usually nearly the same quality.");
        return {houlsby, pfeiffer};
    }

private:
    std::vector<spec::Field> fields() const override {
        return {{"architecture", "houlsby", "string",
                 "\"houlsby\": an adapter after attention and after the feed-forward block; \"pfeiffer\": after the "
                 "feed-forward block only."},
                {"reduction_factor", 16, "number",
                 "Bottleneck width = hidden size / reduction_factor (ignored when bottleneck_size is set)."},
                {"bottleneck_size", nullptr, "int|null", "Bottleneck width in units; overrides reduction_factor."},
                {"non_linearity", "relu", "string",
                 "Activation between the down and up projections: relu, gelu, swish (silu) or tanh."},
                {"mh_adapter", nullptr, "bool|null",
                 "Override: put an adapter after the attention block (true/false); null follows architecture."},
                {"output_adapter", nullptr, "bool|null",
                 "Override: put an adapter after the feed-forward block; null follows architecture."},
                {"layers_to_transform", nullptr, "int|list|null",
                 "Decoder layer indices that get adapters (an int or a list); empty means all."},
                {"init_scale", 0.0, "number",
                 "Standard deviation of the up-projection's initial weights; 0 makes it exactly zero, so training "
                 "starts from the base model."},
                spec::modulesToSaveField()};
    }
    void checkValues(const nlohmann::json& cfg, const std::string& where) const override {
        const std::string t = spec::getString(cfg, "architecture", "houlsby");
        if (t != "houlsby" && t != "pfeiffer")
            fail(where, "key 'architecture' must be \"houlsby\" or \"pfeiffer\" (got \"" + t + "\")", "");
        const std::string a = spec::getString(cfg, "non_linearity", "relu");
        if (a != "relu" && a != "gelu" && a != "gelu_new" && a != "swish" && a != "silu" && a != "tanh")
            fail(where, "key 'non_linearity' must be relu, gelu, gelu_new, swish, silu or tanh (got \"" + a + "\")",
                 "");
        spec::requirePositive(cfg, "reduction_factor", where);
        spec::requirePositive(cfg, "bottleneck_size", where);
    }

    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved) const override {
        return plan(mc, cfg, saved, nullptr);
    }
    ParamReport plan(const ModelConfig& mc, const nlohmann::json& cfg, std::vector<SavedTensor>* saved,
                     TrainingFootprint* fp) const {
        const std::string where = configName();
        auto [head, tree, r] = start(mc, cfg);
        const Shape s = shape(mc, cfg, where);
        const int64_t H = mc.hiddenSize;
        const int64_t perAdapter = H * s.b + s.b + s.b * H + H;
        const nlohmann::json& ltt = spec::getJson(cfg, "layers_to_transform");
        if (fp) fp->firstGradLayer = mc.numLayers;
        for (int64_t l = 0; l < mc.numLayers; ++l) {
            if (!layerSelected(ltt, nullptr, l, tree.layerContainer)) continue;
            for (int which = 0; which < 2; ++which) {
                if ((which == 0 && !s.attn) || (which == 1 && !s.ffn)) continue;
                const std::string name = which == 0 ? "mh_adapter" : "output_adapter";
                r.addAdapter(perAdapter, name, l);
                if (saved) {
                    const std::string k = "base_model.model." + tree.arch.modulePath(l, name);
                    saved->push_back({k + ".adapter_down.weight", {s.b, H}});
                    saved->push_back({k + ".adapter_down.bias", {s.b}});
                    saved->push_back({k + ".adapter_up.weight", {H, s.b}});
                    saved->push_back({k + ".adapter_up.bias", {H}});
                }
                // Kept for backward, fp32 (bottleneck.cpp runs the adapter in fp32): the adapter
                // input [H] (down trains), the down output [b] (the activation's input) and the
                // activation output [b] (up's input).
                if (fp) {
                    fp->extraPerLayer[static_cast<size_t>(l)] += H + 2 * s.b;
                    fp->firstGradLayer = std::min(fp->firstGradLayer, l);
                }
            }
        }
        if (r.trainable == 0) fail(where, "layers_to_transform selects no layer of this model", "Check the indices.");
        const int64_t before = r.trainable;
        spec::applyModulesToSave(tree, cfg, head, r, saved);
        if (fp && r.trainable > before) fp->lmHeadTrains = true;
        return r;
    }
};

}  // namespace

const MethodSpec& bottleneckMethodSpec() { return spec::instance<BottleneckSpec>(); }

}  // namespace peft
