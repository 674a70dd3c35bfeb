// safetensors parsing. The header is untrusted input: every size is checked with overflow-safe
// arithmetic before anything is allocated or dereferenced.
#include "core/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::st {

using nlohmann::json;

const char* dtypeName(DType d) {
    switch (d) {
        case DType::F64: return "F64";
        case DType::F32: return "F32";
        case DType::F16: return "F16";
        case DType::BF16: return "BF16";
        case DType::I64: return "I64";
        case DType::I32: return "I32";
        case DType::I16: return "I16";
        case DType::I8: return "I8";
        case DType::U8: return "U8";
        case DType::BOOL: return "BOOL";
    }
    return "?";
}

size_t dtypeSize(DType d) {
    switch (d) {
        case DType::F64:
        case DType::I64: return 8;
        case DType::F32:
        case DType::I32: return 4;
        case DType::F16:
        case DType::BF16:
        case DType::I16: return 2;
        case DType::I8:
        case DType::U8:
        case DType::BOOL: return 1;
    }
    return 0;
}

bool parseDType(const std::string& s, DType& out) {
    static const std::map<std::string, DType> k = {
        {"F64", DType::F64}, {"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16}, {"I64", DType::I64},
        {"I32", DType::I32}, {"I16", DType::I16}, {"I8", DType::I8},   {"U8", DType::U8},     {"BOOL", DType::BOOL}};
    auto it = k.find(s);
    if (it == k.end()) return false;
    out = it->second;
    return true;
}

int64_t TensorInfo::numel() const {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

namespace {

// Parses and validates a header whose JSON text is `text`, against a data section of `dataSize` bytes.
std::vector<TensorInfo> parseHeader(const std::string& path, const std::string& text, uint64_t dataSize,
                                    std::map<std::string, std::string>* metadata) {
    json h;
    try {
        h = json::parse(text);
    } catch (const std::exception& e) {
        fail(path, std::string("the safetensors header is not valid JSON (") + e.what() + ")",
             "The file is corrupt or not a safetensors file; re-export or re-download it.");
    }
    if (!h.is_object()) fail(path, "the safetensors header is not a JSON object", "The file is corrupt.");
    std::vector<TensorInfo> out;
    for (auto it = h.begin(); it != h.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object()) fail(path, "__metadata__ is not an object", "The file is corrupt.");
            if (metadata)
                for (auto m = it->begin(); m != it->end(); ++m)
                    if (m->is_string()) (*metadata)[m.key()] = m->get<std::string>();
            continue;
        }
        const std::string where = path + ": tensor '" + name + "'";
        const json& e = *it;
        if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") || !e.contains("data_offsets"))
            fail(where, "entry lacks dtype, shape or data_offsets", "The file is corrupt.");
        TensorInfo t;
        t.name = name;
        if (!e["dtype"].is_string() || !parseDType(e["dtype"].get<std::string>(), t.dtype))
            fail(where, "unsupported dtype " + e["dtype"].dump(),
                 "Supported: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.");
        if (!e["shape"].is_array()) fail(where, "shape is not a list", "The file is corrupt.");
        uint64_t numel = 1;
        for (const auto& d : e["shape"]) {
            if (!d.is_number_integer() || d.get<int64_t>() < 0)
                fail(where, "shape holds a negative or non-integer dimension", "The file is corrupt.");
            uint64_t v = d.get<uint64_t>();
            // Bounded by INT64_MAX, not UINT64_MAX: TensorInfo::numel() and torch count in int64.
            if (v != 0 && numel > static_cast<uint64_t>(INT64_MAX) / v)
                fail(where, "shape overflows", "The file is corrupt.");
            numel *= v;
            t.shape.push_back(static_cast<int64_t>(v));
        }
        const json& off = e["data_offsets"];
        if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() || !off[1].is_number_unsigned())
            fail(where, "data_offsets is not a pair of non-negative integers", "The file is corrupt.");
        t.begin = off[0].get<uint64_t>();
        t.end = off[1].get<uint64_t>();
        if (t.begin > t.end || t.end > dataSize)
            fail(where,
                 "data_offsets [" + std::to_string(t.begin) + ", " + std::to_string(t.end) +
                     "] fall outside the data section of " + std::to_string(dataSize) + " bytes",
                 "The file is truncated or corrupt; re-export or re-download it.");
        size_t es = dtypeSize(t.dtype);
        if (numel > UINT64_MAX / es || numel * es != t.end - t.begin)
            fail(where,
                 "shape and dtype need " + std::to_string(numel) + " x " + std::to_string(es) +
                     " bytes but data_offsets give " + std::to_string(t.end - t.begin),
                 "The file is corrupt.");
        out.push_back(std::move(t));
    }
    // Overlapping tensors would alias one another: refuse.
    std::vector<const TensorInfo*> sorted;
    for (auto& t : out) sorted.push_back(&t);
    std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
    for (size_t i = 1; i < sorted.size(); ++i)
        if (sorted[i]->begin < sorted[i - 1]->end && sorted[i]->nbytes() > 0 && sorted[i - 1]->nbytes() > 0)
            fail(path + ": tensor '" + sorted[i]->name + "'", "overlaps tensor '" + sorted[i - 1]->name + "'",
                 "The file is corrupt.");
    return out;
}

uint64_t readHeaderLength(const std::string& path, const uint8_t* p, uint64_t fileSize) {
    if (fileSize < 8) fail(path, "file is shorter than the 8-byte safetensors header length", "The file is truncated.");
    uint64_t n = 0;
    for (int i = 7; i >= 0; --i) n = (n << 8) | p[i];
    if (n > kMaxHeaderBytes)
        fail(path,
             "safetensors header claims " + std::to_string(n) + " bytes, over the " + std::to_string(kMaxHeaderBytes) +
                 "-byte limit",
             "The file is corrupt or not a safetensors file.");
    if (8 + n > fileSize)
        fail(path,
             "safetensors header claims " + std::to_string(n) + " bytes but the file has only " +
                 std::to_string(fileSize),
             "The file is truncated; re-export or re-download it.");
    return n;
}

}  // namespace

std::shared_ptr<File> File::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno), "Check the path and permissions.");
    struct stat sb {};
    if (::fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        ::close(fd);
        fail(path, "not a regular file", "Point to a .safetensors file.");
    }
    std::shared_ptr<File> f(new File());
    f->m_path = path;
    f->m_size = static_cast<uint64_t>(sb.st_size);
    if (f->m_size > 0) {
        void* m = ::mmap(nullptr, f->m_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            int err = errno;
            ::close(fd);
            fail(path, std::string("cannot map file: ") + std::strerror(err), "");
        }
        f->m_map = m;
        // Weights are read once, front to back, soon after opening: ask the kernel to read the
        // file ahead now (asynchronously, into the page cache; nothing becomes resident in this
        // process until a page is touched). Without it, a cold load faults the mapping in with
        // small synchronous reads and takes ~1.8x as long as reading the file (tests/bench/RESULTS.md).
        ::madvise(m, f->m_size, MADV_WILLNEED);
    }
    ::close(fd);
    const uint8_t* base = static_cast<const uint8_t*>(f->m_map);
    uint64_t n = readHeaderLength(path, base, f->m_size);
    std::string text(reinterpret_cast<const char*>(base + 8), n);
    uint64_t dataSize = f->m_size - 8 - n;
    f->m_tensors = parseHeader(path, text, dataSize, &f->m_metadata);
    f->m_data = static_cast<uint8_t*>(f->m_map) + 8 + n;
    for (size_t i = 0; i < f->m_tensors.size(); ++i) f->m_index[f->m_tensors[i].name] = i;
    return f;
}

File::~File() {
    if (m_map) ::munmap(m_map, m_size);
}

const TensorInfo* File::find(const std::string& name) const {
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

const TensorInfo& File::at(const std::string& name) const {
    const TensorInfo* t = find(name);
    if (!t) fail(m_path, "tensor '" + name + "' is missing", "The checkpoint does not match its config.json.");
    return *t;
}

std::vector<TensorInfo> readHeader(const std::string& path, std::map<std::string, std::string>* metadata) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) fail(path, std::string("cannot open: ") + std::strerror(errno), "Check the path and permissions.");
    struct stat sb {};
    ::fstat(fd, &sb);
    uint64_t size = static_cast<uint64_t>(sb.st_size);
    uint8_t lenBytes[8] = {};
    ssize_t got = ::pread(fd, lenBytes, 8, 0);
    if (got != 8) {
        ::close(fd);
        fail(path, "file is shorter than the 8-byte safetensors header length", "The file is truncated.");
    }
    uint64_t n = readHeaderLength(path, lenBytes, size);
    std::string text(n, '\0');
    ssize_t r = ::pread(fd, text.data(), n, 8);
    ::close(fd);
    if (r < 0 || static_cast<uint64_t>(r) != n) fail(path, "cannot read the header", "The file is truncated.");
    return parseHeader(path, text, size - 8 - n, metadata);
}

void write(const std::string& path, const std::vector<WriteItem>& items,
           const std::map<std::string, std::string>& metadata) {
    std::vector<const WriteItem*> order;
    for (const auto& it : items) order.push_back(&it);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->name < b->name; });
    json h = json::object();
    if (!metadata.empty()) {
        json m = json::object();
        for (const auto& [k, v] : metadata) m[k] = v;
        h["__metadata__"] = m;
    }
    uint64_t off = 0;
    for (const WriteItem* it : order) {
        uint64_t numel = 1;
        for (int64_t d : it->shape) numel *= static_cast<uint64_t>(d);
        if (numel * dtypeSize(it->dtype) != it->nbytes)
            fail(path + ": tensor '" + it->name + "'", "byte count does not match shape and dtype", "");
        if (h.contains(it->name)) fail(path + ": tensor '" + it->name + "'", "duplicate tensor name", "");
        h[it->name] = {
            {"dtype", dtypeName(it->dtype)}, {"shape", it->shape}, {"data_offsets", {off, off + it->nbytes}}};
        off += it->nbytes;
    }
    std::string header = h.dump();
    while (header.size() % 8 != 0) header.push_back(' ');
    writeFileAtomic(path, [&](const std::function<void(const void*, size_t)>& w) {
        uint8_t len[8];
        uint64_t n = header.size();
        for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(n >> (8 * i));
        w(len, 8);
        w(header.data(), header.size());
        for (const WriteItem* it : order) w(it->data, it->nbytes);
    });
}

}  // namespace peft::st
