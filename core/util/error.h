// PeftError: the one exception type for bad input. Its message names the file, the line or key,
// what was expected, and what to do, so the GUI and the CLI can show it as is.
#pragma once
#include <stdexcept>
#include <string>

namespace peft {

class PeftError : public std::runtime_error {
public:
    explicit PeftError(const std::string& what) : std::runtime_error(what) {}
};

// Builds "<where>: <what>. <fix>" with empty parts left out.
std::string describeError(const std::string& where, const std::string& what, const std::string& fix = {});

[[noreturn]] void fail(const std::string& where, const std::string& what, const std::string& fix = {});

}  // namespace peft
