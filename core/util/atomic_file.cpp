// Atomic file writes with POSIX calls so errors (ENOSPC, EIO) are seen, not swallowed by a stream.
#include "core/util/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/util/error.h"
#include "core/util/no_room.h"

namespace peft {

namespace fs = std::filesystem;

void syncDirectory(const std::string& dir) {
    int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

void writeFileAtomic(const std::string& path,
                     const std::function<void(const std::function<void(const void*, size_t)>&)>& writer) {
    fs::path target(path);
    fs::path dir = target.parent_path();
    std::error_code ec;
    if (!dir.empty()) fs::create_directories(dir, ec);
    std::random_device rd;
    fs::path tmp = dir /
        ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(rd() % 1000000));
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail(path, std::string("cannot create temporary file: ") + std::strerror(errno),
             "Check that the folder exists and is writable.");
    auto cleanupFail = [&](const std::string& what) {
        int err = errno;
        ::close(fd);
        ::unlink(tmp.c_str());
        std::string hint = isNoRoomError(err)
            ? noRoomHint(err, "choose another folder") + " The previous file was kept."
            : "The previous file was kept.";
        fail(path, what + ": " + std::strerror(err), hint);
    };
    auto write = [&](const void* data, size_t n) {
        const char* p = static_cast<const char*>(data);
        while (n > 0) {
            ssize_t w = ::write(fd, p, n);
            if (w < 0) {
                if (errno == EINTR) continue;
                cleanupFail("write failed");
            }
            p += w;
            n -= static_cast<size_t>(w);
        }
    };
    try {
        writer(write);
    } catch (...) {
        ::close(fd);
        ::unlink(tmp.c_str());
        throw;
    }
    if (::fsync(fd) != 0) cleanupFail("fsync failed");
    if (::close(fd) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        errno = err;
        fail(path, std::string("close failed: ") + std::strerror(err), "The previous file was kept.");
    }
    if (::rename(tmp.c_str(), target.c_str()) != 0) {
        int err = errno;
        ::unlink(tmp.c_str());
        fail(path, std::string("rename failed: ") + std::strerror(err), "The previous file was kept.");
    }
    syncDirectory(dir.string());
}

void writeFileAtomic(const std::string& path, const std::string& bytes) {
    writeFileAtomic(path, [&](const std::function<void(const void*, size_t)>& w) { w(bytes.data(), bytes.size()); });
}

std::string readFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail(path, "cannot open file", "Check that it exists and is readable.");
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace peft
