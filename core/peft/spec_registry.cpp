// The MethodSpec registry: one line per method. Nothing else in the project switches over methods.
#include <algorithm>

#include "core/peft/method_spec.h"
#include "core/util/error.h"

namespace peft {

const MethodSpec& loraMethodSpec();
const MethodSpec& ia3MethodSpec();
const MethodSpec& promptTuningMethodSpec();
const MethodSpec& prefixTuningMethodSpec();
const MethodSpec& bottleneckMethodSpec();
const MethodSpec& bitfitMethodSpec();
const MethodSpec& fullMethodSpec();

const std::vector<const MethodSpec*>& allMethodSpecs() {
    static const std::vector<const MethodSpec*> k = {
        &loraMethodSpec(),
        &ia3MethodSpec(),
        &promptTuningMethodSpec(),
        &prefixTuningMethodSpec(),
        &bottleneckMethodSpec(),
        &bitfitMethodSpec(),
        &fullMethodSpec(),
    };
    return k;
}

const MethodSpec* findMethodSpec(const std::string& peftType) {
    for (const MethodSpec* m : allMethodSpecs())
        if (m->peftType() == peftType) return m;
    return nullptr;
}

const MethodSpec& methodSpec(const std::string& peftType) {
    if (const MethodSpec* m = findMethodSpec(peftType)) return *m;
    std::string names;
    for (const MethodSpec* m : allMethodSpecs()) names += (names.empty() ? "" : ", ") + m->peftType();
    fail("peft_type", "unknown method '" + peftType + "'", "Known: " + names + ".");
}

}  // namespace peft
