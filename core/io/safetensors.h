// safetensors reader (memory-mapped, every offset checked before use) and writer (atomic).
// No torch here: core/io/tensor_io.h turns views into tensors without copying.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace peft::st {

enum class DType { F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL };

const char* dtypeName(DType d);
size_t dtypeSize(DType d);
// Parses "F32", "BF16", ...; false when unknown.
bool parseDType(const std::string& s, DType& out);

struct TensorInfo {
    std::string name;
    DType dtype = DType::F32;
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // offsets inside the data section
    uint64_t end = 0;
    int64_t numel() const;
    uint64_t nbytes() const { return end - begin; }
};

// The largest header accepted (the format's own reference implementation uses 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

class File {
public:
    // Maps `path` and validates the header: length against file size, JSON, dtypes, shapes
    // against byte counts, offsets inside the data section and not overlapping. Throws
    // PeftError naming the file and the tensor.
    static std::shared_ptr<File> open(const std::string& path);
    ~File();
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    const std::string& path() const { return m_path; }
    const std::vector<TensorInfo>& tensors() const { return m_tensors; }
    const TensorInfo* find(const std::string& name) const;
    // Throws PeftError naming the file and the missing tensor.
    const TensorInfo& at(const std::string& name) const;
    // Start of a tensor's bytes. The mapping is private and writable (copy-on-write), so tensors
    // built on it may be modified in place without touching the file.
    uint8_t* data(const TensorInfo& t) const { return m_data + t.begin; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    uint64_t fileSize() const { return m_size; }

private:
    File() = default;
    std::string m_path;
    void* m_map = nullptr;
    uint64_t m_size = 0;
    uint8_t* m_data = nullptr;
    std::vector<TensorInfo> m_tensors;
    std::map<std::string, size_t> m_index;
    std::map<std::string, std::string> m_metadata;
};

// Reads only the header (for config-only tools and sharded indexes); same validation.
std::vector<TensorInfo> readHeader(const std::string& path, std::map<std::string, std::string>* metadata = nullptr);

struct WriteItem {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t nbytes;
};

// Writes a safetensors file atomically (temporary name, fsync, rename). Tensors are laid out
// in name order; the header is padded to 8 bytes.
void write(const std::string& path, const std::vector<WriteItem>& items,
           const std::map<std::string, std::string>& metadata = {});

}  // namespace peft::st
