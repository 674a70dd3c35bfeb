// SHA-256 (FIPS 180-4), streamed: the Hub names LFS blobs by it, so downloads are checked with it.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace peft {

class Sha256 {
public:
    Sha256();
    void update(const void* data, size_t size);
    std::string hexDigest();  // finishes the hash; 64 lower-case hex digits

private:
    void block(const uint8_t* p);
    uint32_t m_h[8];
    uint8_t m_buf[64];
    size_t m_bufLen = 0;
    uint64_t m_total = 0;
};

// The hash of a whole file (read in chunks); throws PeftError naming the file when unreadable.
std::string sha256File(const std::string& path);

}  // namespace peft
