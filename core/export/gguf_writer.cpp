// GGUF v3 writer. Layout: magic, version, tensor and KV counts, KVs, tensor infos, padding to
// the alignment, then each tensor's data at an aligned offset from the start of the data.
#include "core/export/gguf_writer.h"

#include <cstring>
#include <set>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::gguf {

namespace {

template <typename T>
void put(std::string& s, T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // the hosts we build for are little endian, as GGUF is
    s.append(b, sizeof(T));
}

void putString(std::string& s, const std::string& v) {
    put<uint64_t>(s, v.size());
    s += v;
}

uint64_t alignUp(uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

const char* tensorTypeName(TensorType t) {
    switch (t) {
        case TensorType::F32: return "f32";
        case TensorType::F16: return "f16";
        case TensorType::Q8_0: return "q8_0";
        case TensorType::BF16: return "bf16";
    }
    return "?";
}

uint64_t rowBytes(TensorType t, int64_t n) {
    switch (t) {
        case TensorType::F32: return 4ull * n;
        case TensorType::F16:
        case TensorType::BF16: return 2ull * n;
        case TensorType::Q8_0:
            if (n % 32 != 0) fail("GGUF", "a Q8_0 row of " + std::to_string(n) + " values is not a multiple of 32");
            return static_cast<uint64_t>(n / 32) * 34;
    }
    return 0;
}

void Writer::addKv(const std::string& key, std::string encoded) {
    if (hasKey(key)) fail("GGUF", "metadata key '" + key + "' is set twice");
    m_kvs.push_back({key, std::move(encoded)});
}

bool Writer::hasKey(const std::string& key) const {
    for (const auto& kv : m_kvs)
        if (kv.key == key) return true;
    return false;
}

#define PEFT_GGUF_SCALAR(fn, T, tag)                \
    void Writer::fn(const std::string& key, T v) {  \
        std::string s;                              \
        put<uint32_t>(s, uint32_t(ValueType::tag)); \
        put<T>(s, v);                               \
        addKv(key, std::move(s));                   \
    }
PEFT_GGUF_SCALAR(setU32, uint32_t, U32)
PEFT_GGUF_SCALAR(setI32, int32_t, I32)
PEFT_GGUF_SCALAR(setU64, uint64_t, U64)
PEFT_GGUF_SCALAR(setF32, float, F32)
#undef PEFT_GGUF_SCALAR

void Writer::setBool(const std::string& key, bool v) {
    std::string s;
    put<uint32_t>(s, uint32_t(ValueType::Bool));
    put<uint8_t>(s, v ? 1 : 0);
    addKv(key, std::move(s));
}

void Writer::setString(const std::string& key, const std::string& v) {
    std::string s;
    put<uint32_t>(s, uint32_t(ValueType::String));
    putString(s, v);
    addKv(key, std::move(s));
}

void Writer::setStringArray(const std::string& key, const std::vector<std::string>& v) {
    std::string s;
    put<uint32_t>(s, uint32_t(ValueType::Array));
    put<uint32_t>(s, uint32_t(ValueType::String));
    put<uint64_t>(s, v.size());
    for (const auto& x : v) putString(s, x);
    addKv(key, std::move(s));
}

namespace {
template <typename T>
std::string encodeArray(ValueType elem, const std::vector<T>& v) {
    std::string s;
    put<uint32_t>(s, uint32_t(ValueType::Array));
    put<uint32_t>(s, uint32_t(elem));
    put<uint64_t>(s, v.size());
    for (T x : v) put<T>(s, x);
    return s;
}
}  // namespace

void Writer::setF32Array(const std::string& key, const std::vector<float>& v) {
    addKv(key, encodeArray(ValueType::F32, v));
}
void Writer::setI32Array(const std::string& key, const std::vector<int32_t>& v) {
    addKv(key, encodeArray(ValueType::I32, v));
}
void Writer::setU32Array(const std::string& key, const std::vector<uint32_t>& v) {
    addKv(key, encodeArray(ValueType::U32, v));
}

void Writer::addTensor(const std::string& name, const std::vector<int64_t>& ne, TensorType type,
                       std::function<void(const ByteSink&)> produce) {
    for (const auto& t : m_tensors)
        if (t.name == name) fail("GGUF", "tensor '" + name + "' is added twice");
    if (ne.empty() || ne.size() > 4)
        fail("GGUF", "tensor '" + name + "' has " + std::to_string(ne.size()) + " dimensions (1 to 4 allowed)");
    uint64_t rows = 1;
    for (size_t i = 1; i < ne.size(); ++i) rows *= static_cast<uint64_t>(ne[i]);
    uint64_t nbytes = rows * rowBytes(type, ne[0]);
    m_tensors.push_back({name, ne, type, nbytes, m_dataBytes, std::move(produce)});
    m_dataBytes = alignUp(m_dataBytes + nbytes);
}

std::string Writer::header() const {
    std::string s;
    s += "GGUF";
    put<uint32_t>(s, 3);
    put<uint64_t>(s, m_tensors.size());
    put<uint64_t>(s, m_kvs.size());
    for (const auto& kv : m_kvs) {
        putString(s, kv.key);
        s += kv.encoded;
    }
    for (const auto& t : m_tensors) {
        putString(s, t.name);
        put<uint32_t>(s, static_cast<uint32_t>(t.ne.size()));
        for (int64_t d : t.ne) put<uint64_t>(s, static_cast<uint64_t>(d));
        put<uint32_t>(s, uint32_t(t.type));
        put<uint64_t>(s, t.offset);
    }
    s.resize(alignUp(s.size()), '\0');
    return s;
}

uint64_t Writer::fileSize() const { return header().size() + m_dataBytes; }

void Writer::write(const std::string& path, const std::function<void(uint64_t, uint64_t)>& progress,
                   const std::atomic<bool>* cancel) const {
    const std::string head = header();
    const uint64_t total = head.size() + m_dataBytes;
    writeFileAtomic(path, [&](const std::function<void(const void*, size_t)>& out) {
        out(head.data(), head.size());
        uint64_t done = head.size();
        if (progress) progress(done, total);
        static const char kZeros[kAlignment] = {};
        for (const auto& t : m_tensors) {
            if (cancel && cancel->load()) fail(path, "export cancelled", "Nothing was written.");
            uint64_t wrote = 0;
            t.produce([&](const void* p, size_t n) {
                wrote += n;
                if (wrote > t.nbytes) fail(path, "tensor '" + t.name + "' produced more bytes than its shape holds");
                out(p, n);
            });
            if (wrote != t.nbytes)
                fail(path,
                     "tensor '" + t.name + "' produced " + std::to_string(wrote) + " bytes, expected " +
                         std::to_string(t.nbytes));
            uint64_t pad = alignUp(wrote) - wrote;
            out(kZeros, pad);
            done += wrote + pad;
            if (progress) progress(done, total);
        }
    });
}

}  // namespace peft::gguf
