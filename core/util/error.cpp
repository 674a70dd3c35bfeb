// Formatting of user-facing errors.
#include "core/util/error.h"

namespace peft {

std::string describeError(const std::string& where, const std::string& what, const std::string& fix) {
    std::string s;
    if (!where.empty()) s += where + ": ";
    s += what;
    if (!fix.empty()) {
        if (!s.empty() && s.back() != '.') s += '.';
        s += " " + fix;
    }
    return s;
}

void fail(const std::string& where, const std::string& what, const std::string& fix) {
    throw PeftError(describeError(where, what, fix));
}

}  // namespace peft
