// Crash-safe file writes: write to a temporary name in the same folder, fsync, rename.
// A reader never sees a half-written file, and a failed write leaves the old one intact.
#pragma once
#include <functional>
#include <string>

namespace peft {

// Writes `bytes` to `path` atomically. Throws PeftError naming the path on any failure
// (disk full included); the temporary file is removed.
void writeFileAtomic(const std::string& path, const std::string& bytes);

// Same, with the content streamed by `writer` through a write callback.
void writeFileAtomic(const std::string& path,
                     const std::function<void(const std::function<void(const void*, size_t)>&)>& writer);

// fsync a directory so a rename inside it is durable.
void syncDirectory(const std::string& dir);

// Reads a whole file; PeftError naming the path when it cannot.
std::string readFile(const std::string& path);

}  // namespace peft
