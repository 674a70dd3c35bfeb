// Names that become file or folder names (adapter names, run and project names, tensor names in
// exports) made safe: no path separators, no "..", no control characters, bounded length.
#pragma once
#include <string>

namespace peft {

// A single path component derived from `name`: '/', '\\', ':', control and other characters that
// are unsafe on Linux, macOS or Windows become '_'; leading dots and spaces and trailing dots and
// spaces are removed (no ".", "..", or hidden files); Windows device names (CON, NUL, COM1...)
// get a '_' prefix; at most 100 bytes (cut on a UTF-8 boundary); "unnamed" when nothing remains.
std::string safeFileName(const std::string& name);

// True when `name` is already a safe single component (safeFileName(name) == name).
bool isSafeFileName(const std::string& name);

// Throws PeftError naming `where` when `rel` is absolute, empty, or has a ".." component, i.e.
// when joining it to a folder could leave that folder.
void requireRelativeInside(const std::string& rel, const std::string& where);

}  // namespace peft
