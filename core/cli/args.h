// Minimal argument parsing for peft-studio-cli subcommands: --key value, --flag, repeated keys.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace peft::cli {

class Args {
public:
    // `flags` are options that take no value. Unknown options are errors naming the option.
    Args(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
         const std::vector<std::string>& flags, const std::string& command);
    bool has(const std::string& key) const;
    std::string get(const std::string& key, const std::string& def = {}) const;
    std::vector<std::string> getAll(const std::string& key) const;
    // Throws PeftError "<command>: --key is required" when absent.
    std::string require(const std::string& key) const;
    long long getInt(const std::string& key, long long def) const;
    double getDouble(const std::string& key, double def) const;
    const std::vector<std::string>& positional() const { return m_positional; }

private:
    std::string m_command;
    std::multimap<std::string, std::string> m_values;
    std::vector<std::string> m_positional;
};

}  // namespace peft::cli
