// GGUF (version 3) format writer: typed key/value metadata, tensor infos, aligned tensor data
// streamed to a temporary file and renamed. It knows nothing of models; see gguf_export.h.
#pragma once
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace peft::gguf {

// Value types of the GGUF metadata section.
enum class ValueType : uint32_t {
    U8 = 0,
    I8 = 1,
    U16 = 2,
    I16 = 3,
    U32 = 4,
    I32 = 5,
    F32 = 6,
    Bool = 7,
    String = 8,
    Array = 9,
    U64 = 10,
    I64 = 11,
    F64 = 12
};

// The ggml tensor types this project writes (numbering from ggml.h).
enum class TensorType : uint32_t { F32 = 0, F16 = 1, Q8_0 = 8, BF16 = 30 };

const char* tensorTypeName(TensorType t);
// Bytes of `n` elements of one row; Q8_0 needs n % 32 == 0 (34 bytes per block of 32).
uint64_t rowBytes(TensorType t, int64_t n);

constexpr uint32_t kAlignment = 32;  // the default general.alignment

// Receives a tensor's bytes, in order, in as many pieces as the producer likes.
using ByteSink = std::function<void(const void*, size_t)>;

class Writer {
public:
    void setU32(const std::string& key, uint32_t v);
    void setI32(const std::string& key, int32_t v);
    void setU64(const std::string& key, uint64_t v);
    void setF32(const std::string& key, float v);
    void setBool(const std::string& key, bool v);
    void setString(const std::string& key, const std::string& v);
    void setStringArray(const std::string& key, const std::vector<std::string>& v);
    void setF32Array(const std::string& key, const std::vector<float>& v);
    void setI32Array(const std::string& key, const std::vector<int32_t>& v);
    void setU32Array(const std::string& key, const std::vector<uint32_t>& v);
    bool hasKey(const std::string& key) const;

    // `ne` in ggml order (innermost first: a torch [out, in] weight is ne {in, out}).
    // `produce` must write exactly the tensor's byte size into the sink.
    void addTensor(const std::string& name, const std::vector<int64_t>& ne, TensorType type,
                   std::function<void(const ByteSink&)> produce);

    // Exact size of the file write() produces.
    uint64_t fileSize() const;
    size_t tensorCount() const { return m_tensors.size(); }

    // Writes `path` through a temporary file and a rename. `progress(done, total)` gets bytes;
    // `cancel`, when set, is checked between tensors and aborts with PeftError, leaving no file.
    void write(const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress = {},
               const std::atomic<bool>* cancel = nullptr) const;

private:
    struct Kv {
        std::string key;
        std::string encoded;  // type tag + value, little endian
    };
    struct Tensor {
        std::string name;
        std::vector<int64_t> ne;
        TensorType type;
        uint64_t nbytes;
        uint64_t offset;
        std::function<void(const ByteSink&)> produce;
    };
    void addKv(const std::string& key, std::string encoded);
    std::string header() const;
    std::vector<Kv> m_kvs;
    std::vector<Tensor> m_tensors;
    uint64_t m_dataBytes = 0;
};

}  // namespace peft::gguf
