// The method registry: one line per method pairs its spec (fields, counts, cards; no torch) with
// its torch side's factory, as peft's register_peft_method(name, config_cls, model_cls) does.
// Nothing else in the project switches over methods.
#include <utility>

#include "core/peft/method_spec.h"
#include "core/util/error.h"

namespace peft {

// Each method's two halves: its spec (<method>/<method>_spec.cpp) and its torch side
// (<method>/<method>.cpp), one method per line.
// clang-format off
const MethodSpec& loraMethodSpec();          std::unique_ptr<Method> makeLoraMethod();
const MethodSpec& ia3MethodSpec();           std::unique_ptr<Method> makeIa3Method();
const MethodSpec& promptTuningMethodSpec();  std::unique_ptr<Method> makePromptTuningMethod();
const MethodSpec& prefixTuningMethodSpec();  std::unique_ptr<Method> makePrefixTuningMethod();
const MethodSpec& bottleneckMethodSpec();    std::unique_ptr<Method> makeBottleneckMethod();
const MethodSpec& bitfitMethodSpec();        std::unique_ptr<Method> makeBitFitMethod();
const MethodSpec& fullMethodSpec();          std::unique_ptr<Method> makeFullMethod();
// clang-format on

namespace {

using Registered = std::pair<const MethodSpec*, MethodFactory>;  // a spec and its torch side

// The one list of methods, in the Method page's order.
const std::vector<Registered>& registry() {
    static const std::vector<Registered> k = {
        {&loraMethodSpec(), &makeLoraMethod},
        {&ia3MethodSpec(), &makeIa3Method},
        {&promptTuningMethodSpec(), &makePromptTuningMethod},
        {&prefixTuningMethodSpec(), &makePrefixTuningMethod},
        {&bottleneckMethodSpec(), &makeBottleneckMethod},
        {&bitfitMethodSpec(), &makeBitFitMethod},
        {&fullMethodSpec(), &makeFullMethod},
    };
    return k;
}

const Registered& registered(const std::string& peftType) {
    for (const Registered& r : registry())
        if (r.first->peftType() == peftType) return r;
    std::string names;
    for (const Registered& r : registry()) names += (names.empty() ? "" : ", ") + r.first->peftType();
    fail("peft_type", "unknown method '" + peftType + "'", "Known: " + names + ".");
}

}  // namespace

const std::vector<const MethodSpec*>& allMethodSpecs() {
    static const std::vector<const MethodSpec*> k = [] {
        std::vector<const MethodSpec*> v;
        for (const Registered& r : registry()) v.push_back(r.first);
        return v;
    }();
    return k;
}

const MethodSpec* findMethodSpec(const std::string& peftType) {
    for (const MethodSpec* m : allMethodSpecs())
        if (m->peftType() == peftType) return m;
    return nullptr;
}

const MethodSpec& methodSpec(const std::string& peftType) { return *registered(peftType).first; }

MethodFactory methodFactory(const std::string& peftType) { return registered(peftType).second; }

}  // namespace peft
