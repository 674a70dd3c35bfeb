// safetensors <-> torch conversions.
#include "core/io/tensor_io.h"

#include "core/util/error.h"

namespace peft {

torch::Dtype toTorchDtype(st::DType d) {
    switch (d) {
        case st::DType::F64: return torch::kFloat64;
        case st::DType::F32: return torch::kFloat32;
        case st::DType::F16: return torch::kFloat16;
        case st::DType::BF16: return torch::kBFloat16;
        case st::DType::I64: return torch::kInt64;
        case st::DType::I32: return torch::kInt32;
        case st::DType::I16: return torch::kInt16;
        case st::DType::I8: return torch::kInt8;
        case st::DType::U8: return torch::kUInt8;
        case st::DType::BOOL: return torch::kBool;
    }
    return torch::kFloat32;
}

st::DType toStDtype(torch::Dtype d) {
    switch (d) {
        case torch::kFloat64: return st::DType::F64;
        case torch::kFloat32: return st::DType::F32;
        case torch::kFloat16: return st::DType::F16;
        case torch::kBFloat16: return st::DType::BF16;
        case torch::kInt64: return st::DType::I64;
        case torch::kInt32: return st::DType::I32;
        case torch::kInt16: return st::DType::I16;
        case torch::kInt8: return st::DType::I8;
        case torch::kUInt8: return st::DType::U8;
        case torch::kBool: return st::DType::BOOL;
        default: break;
    }
    throw PeftError(std::string("cannot store dtype ") + std::string(c10::toString(d)) + " in safetensors");
}

torch::Tensor tensorFromFile(const std::shared_ptr<st::File>& file, const st::TensorInfo& info) {
    auto opts = torch::TensorOptions().dtype(toTorchDtype(info.dtype));
    uint8_t* p = file->data(info);
    if (info.numel() == 0) return torch::empty(info.shape, opts);
    if (reinterpret_cast<uintptr_t>(p) % st::dtypeSize(info.dtype) != 0) {
        auto t = torch::empty(info.shape, opts);
        std::memcpy(t.data_ptr(), p, info.nbytes());
        return t;
    }
    std::shared_ptr<st::File> keep = file;
    return torch::from_blob(
        p, info.shape, [keep](void*) mutable { keep.reset(); }, opts);
}

std::map<std::string, torch::Tensor> loadSafetensors(const std::string& path,
                                                     std::map<std::string, std::string>* metadata) {
    auto f = st::File::open(path);
    std::map<std::string, torch::Tensor> out;
    for (const auto& t : f->tensors()) out[t.name] = tensorFromFile(f, t);
    if (metadata) *metadata = f->metadata();
    return out;
}

void saveSafetensors(const std::string& path, const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                     const std::map<std::string, std::string>& metadata) {
    std::vector<torch::Tensor> keep;
    std::vector<st::WriteItem> items;
    keep.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
        keep.push_back(c);
        items.push_back({name, toStDtype(c.scalar_type()), c.sizes().vec(), c.data_ptr(),
                         static_cast<uint64_t>(c.numel()) * c.element_size()});
    }
    st::write(path, items, metadata);
}

std::string shapeString(const torch::IntArrayRef& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
}

const torch::Tensor& savedTensorLike(const std::map<std::string, torch::Tensor>& saved, const std::string& key,
                                     const torch::Tensor& like, const std::string& where, const std::string& fix) {
    auto it = saved.find(key);
    if (it == saved.end()) fail(where, "tensor '" + key + "' is missing", fix);
    if (it->second.sizes() != like.sizes())
        fail(where,
             "tensor '" + key + "' has shape " + shapeString(it->second.sizes()) + ", not " + shapeString(like.sizes()),
             fix);
    return it->second;
}

}  // namespace peft
