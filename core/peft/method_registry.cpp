// The torch side's entry point: peft_type -> a new Method, from the one list of methods, the spec
// registry (spec_registry.cpp), where each spec stands beside its torch side's factory.
#include "core/peft/method.h"
#include "core/peft/method_spec.h"

namespace peft {

std::unique_ptr<Method> createMethod(const std::string& peftType) {
    return methodFactory(peftType)();  // an unknown type: PeftError listing the known ones
}

std::vector<std::string> methodTypes() {
    std::vector<std::string> out;
    for (const MethodSpec* m : allMethodSpecs()) out.push_back(m->peftType());
    return out;
}

}  // namespace peft
