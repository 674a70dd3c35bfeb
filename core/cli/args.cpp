// Argument parsing for the CLI.
#include "core/cli/args.h"

#include <algorithm>

#include "core/hub/hub_cache.h"
#include "core/util/error.h"

namespace peft::cli {

Args::Args(const std::vector<std::string>& argv, const std::vector<std::string>& valued,
           const std::vector<std::string>& flags, const std::string& command)
    : m_command(command) {
    auto in = [](const std::vector<std::string>& v, const std::string& s) {
        return std::find(v.begin(), v.end(), s) != v.end();
    };
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.rfind("--", 0) == 0) {
            std::string key = a.substr(2), value;
            auto eq = key.find('=');
            bool hasInline = eq != std::string::npos;
            if (hasInline) {
                value = key.substr(eq + 1);
                key = key.substr(0, eq);
            }
            if (in(flags, key)) {
                m_values.emplace(key, "1");
            } else if (in(valued, key)) {
                if (!hasInline) {
                    if (i + 1 >= argv.size()) fail(command, "--" + key + " needs a value", "See --help.");
                    value = argv[++i];
                }
                // The one place the CLI resolves --model: a folder, or ORG/NAME[@rev] from the Hub cache.
                if (key == "model") value = hub::resolveModelPath(value);
                m_values.emplace(key, value);
            } else {
                fail(command, "unknown option --" + key,
                     "Run 'peft-studio-cli " + command + " --help' for the options.");
            }
        } else {
            m_positional.push_back(a);
        }
    }
}

bool Args::has(const std::string& key) const { return m_values.count(key) > 0; }

std::string Args::get(const std::string& key, const std::string& def) const {
    auto it = m_values.find(key);
    return it == m_values.end() ? def : it->second;
}

std::vector<std::string> Args::getAll(const std::string& key) const {
    std::vector<std::string> out;
    auto [b, e] = m_values.equal_range(key);
    for (auto it = b; it != e; ++it) out.push_back(it->second);
    return out;
}

std::string Args::require(const std::string& key) const {
    if (!has(key)) fail(m_command, "--" + key + " is required", "Run 'peft-studio-cli " + m_command + " --help'.");
    return get(key);
}

long long Args::getInt(const std::string& key, long long def) const {
    if (!has(key)) return def;
    try {
        size_t pos = 0;
        long long v = std::stoll(get(key), &pos);
        if (pos != get(key).size()) throw std::invalid_argument("trailing");
        return v;
    } catch (const std::exception&) {
        fail(m_command, "--" + key + " expects an integer, got '" + get(key) + "'", "");
    }
}

double Args::getDouble(const std::string& key, double def) const {
    if (!has(key)) return def;
    try {
        return std::stod(get(key));
    } catch (const std::exception&) {
        fail(m_command, "--" + key + " expects a number, got '" + get(key) + "'", "");
    }
}

}  // namespace peft::cli
