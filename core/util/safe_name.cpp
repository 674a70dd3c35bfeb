// safeFileName / requireRelativeInside: path-traversal-free names for files the app writes.
#include "core/util/safe_name.h"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "core/util/error.h"

namespace peft {

namespace {
bool isReservedWindowsName(const std::string& s) {
    std::string base = s.substr(0, s.find('.'));
    std::transform(base.begin(), base.end(), base.begin(), [](unsigned char c) { return std::toupper(c); });
    static const char* kNames[] = {"CON", "PRN", "AUX", "NUL"};
    for (const char* n : kNames)
        if (base == n) return true;
    if (base.size() == 4 && (base.rfind("COM", 0) == 0 || base.rfind("LPT", 0) == 0) && base[3] >= '1' &&
        base[3] <= '9')
        return true;
    return false;
}
}  // namespace

std::string safeFileName(const std::string& name) {
    std::string out;
    out.reserve(name.size());
    for (unsigned char c : name) {
        const bool bad = c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' ||
            c == '"' || c == '<' || c == '>' || c == '|';
        out.push_back(bad ? '_' : static_cast<char>(c));
    }
    size_t b = out.find_first_not_of(". ");
    out = b == std::string::npos ? std::string() : out.substr(b);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
    if (out.size() > 100) {
        size_t cut = 100;
        while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
        out.resize(cut);
        while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
    }
    if (out.empty()) return "unnamed";
    if (isReservedWindowsName(out)) out = "_" + out;
    return out;
}

bool isSafeFileName(const std::string& name) { return !name.empty() && safeFileName(name) == name; }

void requireRelativeInside(const std::string& rel, const std::string& where) {
    namespace fs = std::filesystem;
    if (rel.empty()) fail(where, "empty file name", "");
    fs::path p(rel);
    if (p.is_absolute() || p.has_root_name() || p.has_root_directory() || rel.find('\\') != std::string::npos)
        fail(where, "'" + rel + "' is an absolute path; only a name inside the folder is allowed",
             "The file is unsafe; refused.");
    for (const auto& part : p)
        if (part == "..")
            fail(where, "'" + rel + "' climbs out of its folder with '..'", "The file is unsafe; refused.");
    if (rel.find('\0') != std::string::npos) fail(where, "file name holds a NUL byte", "The file is unsafe; refused.");
}

}  // namespace peft
