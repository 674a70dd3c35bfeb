// Parquet reader (see parquet_reader.h). The layout follows the Apache Parquet format
// specification (parquet.thrift, Encodings.md): footer = FileMetaData in Thrift compact protocol,
// then per column chunk an optional dictionary page and data pages. Rows are assembled from the
// repetition/definition levels of each leaf column (Dremel), one leaf at a time, and the leaves
// of one top-level field are merged.
#include "core/data/parquet_reader.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>

#include "core/util/error.h"

namespace peft::data {

// parquet_codecs.cpp: decompresses one page; throws PeftError naming `where`.
std::string parquetDecompress(int codec, const char* data, size_t size, size_t uncompressedSize,
                              const std::string& where);

namespace {

using nlohmann::json;

constexpr size_t kMaxPageBytes = size_t(1) << 30;  // a sane bound before allocating a page
constexpr int kMaxDepth = 32;
constexpr int32_t kMaxPageValues =
    1 << 24;  // entries in one data page                       // Thrift nesting and schema depth

// ---------------------------------------------------------------------------------------------
// Thrift compact protocol: just enough to read structs, lists, integers, binaries and booleans.

enum TType {
    kStop = 0,
    kTrue = 1,
    kFalse = 2,
    kByte = 3,
    kI16 = 4,
    kI32 = 5,
    kI64 = 6,
    kDouble = 7,
    kBinary = 8,
    kList = 9,
    kSet = 10,
    kMap = 11,
    kStruct = 12
};

class Thrift {
public:
    Thrift(const uint8_t* p, size_t n, std::string where) : m_p(p), m_end(p + n), m_where(std::move(where)) {}
    size_t consumed(const uint8_t* start) const { return static_cast<size_t>(m_p - start); }
    const uint8_t* pos() const { return m_p; }

    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            uint8_t b = byte();
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        bad("varint longer than 10 bytes");
    }
    int64_t zigzag() {
        uint64_t v = varint();
        return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
    }
    std::string binary() {
        uint64_t n = varint();
        if (n > static_cast<uint64_t>(m_end - m_p)) bad("string runs past the footer");
        std::string s(reinterpret_cast<const char*>(m_p), n);
        m_p += n;
        return s;
    }
    // Field header: returns the type (kStop at the end) and updates `id`.
    int fieldHeader(int16_t& id) {
        uint8_t b = byte();
        if (b == 0) return kStop;
        int type = b & 0x0F;
        int delta = b >> 4;
        if (delta) id = static_cast<int16_t>(id + delta);
        else id = static_cast<int16_t>(zigzag());
        return type;
    }
    // List header: element type and count (bounded by the bytes left).
    std::pair<int, uint64_t> listHeader() {
        uint8_t b = byte();
        uint64_t n = b >> 4;
        if (n == 15) n = varint();
        if (n > static_cast<uint64_t>(m_end - m_p) + 1) bad("list longer than the footer");
        return {b & 0x0F, n};
    }
    // A list of `elemType` elements (any other type is the error `wrongType`); `readOne` reads each.
    template <class ReadOne>
    void list(int elemType, const char* wrongType, ReadOne readOne) {
        auto [et, n] = listHeader();
        for (uint64_t i = 0; i < n; ++i) {
            if (et != elemType) bad(wrongType);
            readOne();
        }
    }
    bool boolValue(int type) { return type == kTrue; }  // struct fields carry the bool in the type
    void skip(int type, int depth = 0) {
        if (depth > kMaxDepth) bad("nesting deeper than " + std::to_string(kMaxDepth));
        switch (type) {
            case kTrue:
            case kFalse: return;
            case kByte: byte(); return;
            case kI16:
            case kI32:
            case kI64: varint(); return;
            case kDouble: advance(8); return;
            case kBinary: binary(); return;
            case kList:
            case kSet: {
                auto [et, n] = listHeader();
                for (uint64_t i = 0; i < n; ++i) {
                    if (et == kTrue || et == kFalse) byte();  // list booleans take a byte each
                    else skip(et, depth + 1);
                }
                return;
            }
            case kMap: {
                uint64_t n = varint();
                if (n == 0) return;
                if (n > static_cast<uint64_t>(m_end - m_p)) bad("map longer than the footer");
                uint8_t kv = byte();
                for (uint64_t i = 0; i < n; ++i) {
                    skip(kv >> 4, depth + 1);
                    skip(kv & 0x0F, depth + 1);
                }
                return;
            }
            case kStruct: {
                int16_t id = 0;
                for (int t; (t = fieldHeader(id)) != kStop;) skip(t, depth + 1);
                return;
            }
            default: bad("unknown Thrift type " + std::to_string(type));
        }
    }
    [[noreturn]] void bad(const std::string& what) const {
        fail(m_where, "corrupt Parquet metadata: " + what,
             "The file is damaged or not Parquet; re-export or re-download it.");
    }

private:
    uint8_t byte() {
        if (m_p >= m_end) bad("unexpected end");
        return *m_p++;
    }
    void advance(size_t n) {
        if (n > static_cast<size_t>(m_end - m_p)) bad("unexpected end");
        m_p += n;
    }
    const uint8_t* m_p;
    const uint8_t* m_end;
    std::string m_where;
};

// ---------------------------------------------------------------------------------------------
// The metadata structs we read (field ids from parquet.thrift).

enum PhysicalType {
    kBoolean = 0,
    kInt32 = 1,
    kInt64 = 2,
    kInt96 = 3,
    kFloat = 4,
    kDoubleT = 5,
    kByteArray = 6,
    kFixed = 7
};
enum Repetition { kRequired = 0, kOptional = 1, kRepeated = 2 };
enum Encoding { kPlain = 0, kPlainDictionary = 2, kRle = 3, kBitPacked = 4, kRleDictionary = 8 };
enum PageType { kDataPage = 0, kIndexPage = 1, kDictionaryPage = 2, kDataPageV2 = 3 };
enum ConvertedType { kUtf8 = 0, kMapC = 1, kMapKeyValue = 2, kListC = 3, kEnum = 4, kDecimal = 5, kJson = 19 };

struct SchemaElement {
    int type = -1;  // -1: a group
    int typeLength = 0;
    int repetition = kRequired;
    std::string name;
    int numChildren = 0;
    int convertedType = -1;
    int scale = 0;
    bool logicalString = false, logicalList = false, logicalMap = false, logicalDecimal = false;
};

struct ColumnMeta {
    int type = 0;
    std::vector<std::string> path;
    int codec = 0;
    int64_t numValues = 0;
    int64_t totalCompressedSize = 0;
    int64_t dataPageOffset = -1;
    int64_t dictionaryPageOffset = -1;
};

struct RowGroup {
    std::vector<ColumnMeta> columns;
    int64_t numRows = 0;
};

struct FileMeta {
    std::vector<SchemaElement> schema;
    int64_t numRows = 0;
    std::vector<RowGroup> rowGroups;
};

int32_t readI32(Thrift& t) { return static_cast<int32_t>(t.zigzag()); }

void readLogicalType(Thrift& t, SchemaElement& e) {
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        // LogicalType is a union of empty-ish structs: STRING=1, MAP=2, LIST=3, ENUM=4, DECIMAL=5, JSON=12.
        if (id == 1 || id == 4 || id == 12) e.logicalString = true;
        if (id == 2) e.logicalMap = true;
        if (id == 3) e.logicalList = true;
        if (id == 5) {
            e.logicalDecimal = true;
            if (ty == kStruct) {
                int16_t did = 0;
                for (int dt; (dt = t.fieldHeader(did)) != kStop;) {
                    if (did == 1 && dt == kI32) e.scale = readI32(t);
                    else t.skip(dt);
                }
                continue;
            }
        }
        t.skip(ty);
    }
}

SchemaElement readSchemaElement(Thrift& t) {
    SchemaElement e;
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        if (id == 1 && ty == kI32) e.type = readI32(t);
        else if (id == 2 && ty == kI32) e.typeLength = readI32(t);
        else if (id == 3 && ty == kI32) e.repetition = readI32(t);
        else if (id == 4 && ty == kBinary) e.name = t.binary();
        else if (id == 5 && ty == kI32) e.numChildren = readI32(t);
        else if (id == 6 && ty == kI32) e.convertedType = readI32(t);
        else if (id == 7 && ty == kI32) e.scale = readI32(t);
        else if (id == 10 && ty == kStruct) readLogicalType(t, e);
        else t.skip(ty);
    }
    return e;
}

ColumnMeta readColumnMeta(Thrift& t) {
    ColumnMeta c;
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        if (id == 1 && ty == kI32) c.type = readI32(t);
        else if (id == 3 && ty == kList) {
            t.list(kBinary, "path_in_schema is not a list of strings", [&] { c.path.push_back(t.binary()); });
        } else if (id == 4 && ty == kI32) c.codec = readI32(t);
        else if (id == 5 && ty == kI64) c.numValues = t.zigzag();
        else if (id == 7 && ty == kI64) c.totalCompressedSize = t.zigzag();
        else if (id == 9 && ty == kI64) c.dataPageOffset = t.zigzag();
        else if (id == 11 && ty == kI64) c.dictionaryPageOffset = t.zigzag();
        else t.skip(ty);
    }
    return c;
}

RowGroup readRowGroup(Thrift& t) {
    RowGroup g;
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        if (id == 1 && ty == kList) {
            t.list(kStruct, "row group columns are not structs", [&] {
                ColumnMeta c;
                bool have = false;
                int16_t cid = 0;
                for (int ct; (ct = t.fieldHeader(cid)) != kStop;) {
                    if (cid == 1 && ct == kBinary) {
                        if (!t.binary().empty())
                            t.bad("a column chunk lives in another file (file_path), which is not supported");
                    } else if (cid == 3 && ct == kStruct) {
                        c = readColumnMeta(t);
                        have = true;
                    } else {
                        t.skip(ct);
                    }
                }
                if (!have) t.bad("a column chunk has no metadata");
                g.columns.push_back(std::move(c));
            });
        } else if (id == 3 && ty == kI64) {
            g.numRows = t.zigzag();
        } else {
            t.skip(ty);
        }
    }
    return g;
}

FileMeta readFileMeta(Thrift& t) {
    FileMeta m;
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        if (id == 2 && ty == kList) {
            t.list(kStruct, "schema is not a list of structs", [&] { m.schema.push_back(readSchemaElement(t)); });
        } else if (id == 3 && ty == kI64) {
            m.numRows = t.zigzag();
        } else if (id == 4 && ty == kList) {
            t.list(kStruct, "row groups are not structs", [&] { m.rowGroups.push_back(readRowGroup(t)); });
        } else {
            t.skip(ty);
        }
    }
    return m;
}

struct PageHeader {
    int type = -1;
    int32_t uncompressedSize = 0, compressedSize = 0;
    int32_t numValues = 0;
    int encoding = 0;
    int defEncoding = kRle, repEncoding = kRle;
    // v2
    int32_t defBytes = 0, repBytes = 0;
    bool compressed = true;
};

PageHeader readPageHeader(Thrift& t) {
    PageHeader h;
    int16_t id = 0;
    for (int ty; (ty = t.fieldHeader(id)) != kStop;) {
        if (id == 1 && ty == kI32) h.type = readI32(t);
        else if (id == 2 && ty == kI32) h.uncompressedSize = readI32(t);
        else if (id == 3 && ty == kI32) h.compressedSize = readI32(t);
        else if ((id == 5 || id == 7 || id == 8) && ty == kStruct) {
            int16_t sid = 0;
            for (int st; (st = t.fieldHeader(sid)) != kStop;) {
                if (sid == 1 && st == kI32) h.numValues = readI32(t);
                else if (id == 5 && sid == 2 && st == kI32) h.encoding = readI32(t);
                else if (id == 5 && sid == 3 && st == kI32) h.defEncoding = readI32(t);
                else if (id == 5 && sid == 4 && st == kI32) h.repEncoding = readI32(t);
                else if (id == 7 && sid == 2 && st == kI32) h.encoding = readI32(t);
                else if (id == 8 && sid == 4 && st == kI32) h.encoding = readI32(t);
                else if (id == 8 && sid == 5 && st == kI32) h.defBytes = readI32(t);
                else if (id == 8 && sid == 6 && st == kI32) h.repBytes = readI32(t);
                else if (id == 8 && sid == 7 && (st == kTrue || st == kFalse)) h.compressed = t.boolValue(st);
                else t.skip(st);
            }
        } else {
            t.skip(ty);
        }
    }
    return h;
}

// ---------------------------------------------------------------------------------------------
// The schema as a tree, and its leaves with their level bounds.

struct Node {
    SchemaElement e;
    std::vector<int> children;
    int parent = -1;
    int maxDef = 0, maxRep = 0;
};

struct Leaf {
    std::vector<int> path;  // node indices from the top-level field down to the leaf
    int maxDef = 0, maxRep = 0;
    std::string name;  // dotted, for messages
};

struct Schema {
    std::vector<Node> nodes;  // [0] is the root
    std::vector<Leaf> leaves;
};

bool validUtf8(const std::string& s);

Schema buildSchema(const std::vector<SchemaElement>& elems, const std::string& where) {
    if (elems.empty()) fail(where, "the Parquet schema is empty", "The file is damaged; re-export it.");
    Schema s;
    s.nodes.resize(elems.size());
    size_t next = 1;
    // Iterative pre-order walk: the flattened schema lists each group's children after it.
    struct Frame {
        int node;
        int left;
    };
    std::vector<Frame> stack;
    s.nodes[0].e = elems[0];
    stack.push_back({0, std::max(0, elems[0].numChildren)});
    while (!stack.empty()) {
        Frame& f = stack.back();
        if (f.left == 0) {
            stack.pop_back();
            continue;
        }
        --f.left;
        if (next >= elems.size())
            fail(where, "the Parquet schema lists fewer elements than its groups claim", "The file is damaged.");
        int idx = static_cast<int>(next++);
        Node& n = s.nodes[idx];
        n.e = elems[idx];
        // Names become JSON keys, which must be UTF-8 (found by fuzz_parquet).
        if (!validUtf8(n.e.name)) fail(where, "a column name is not UTF-8 text", "The file is damaged; re-export it.");
        n.parent = f.node;
        const Node& p = s.nodes[f.node];
        n.maxDef = p.maxDef + (n.e.repetition != kRequired ? 1 : 0);
        n.maxRep = p.maxRep + (n.e.repetition == kRepeated ? 1 : 0);
        s.nodes[f.node].children.push_back(idx);
        if (n.e.numChildren > 0) {
            if (static_cast<int>(stack.size()) >= kMaxDepth) fail(where, "the Parquet schema nests too deeply", "");
            stack.push_back({idx, n.e.numChildren});
        } else {
            if (n.e.type < 0) n.e.type = kByteArray;  // an empty group would have no leaf; treat as bytes
            Leaf l;
            for (int c = idx; c > 0; c = s.nodes[c].parent) l.path.insert(l.path.begin(), c);
            l.maxDef = n.maxDef;
            l.maxRep = n.maxRep;
            for (int c : l.path) l.name += (l.name.empty() ? "" : ".") + s.nodes[c].e.name;
            s.leaves.push_back(std::move(l));
        }
    }
    if (next != elems.size()) fail(where, "the Parquet schema has elements outside its tree", "The file is damaged.");
    return s;
}

// ---------------------------------------------------------------------------------------------
// Level and dictionary-index decoding: the RLE / bit-packing hybrid.

int bitWidth(int maxValue) {
    int w = 0;
    while ((1 << w) <= maxValue && w < 32) ++w;
    return w;
}

class Bytes {
public:
    Bytes(const uint8_t* p, size_t n, const std::string* where) : m_p(p), m_end(p + n), m_where(where) {}
    size_t left() const { return static_cast<size_t>(m_end - m_p); }
    const uint8_t* pos() const { return m_p; }
    void need(size_t n) const {
        if (n > left())
            fail(*m_where, "a Parquet page ends early", "The file is damaged; re-export or re-download it.");
    }
    const uint8_t* take(size_t n) {
        need(n);
        const uint8_t* p = m_p;
        m_p += n;
        return p;
    }
    uint32_t u32le() {
        const uint8_t* p = take(4);
        return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    }
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            uint8_t b = *take(1);
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        fail(*m_where, "a Parquet run header is too long", "The file is damaged.");
    }

private:
    const uint8_t* m_p;
    const uint8_t* m_end;
    const std::string* m_where;
};

// Decodes `count` values of `width` bits from the hybrid encoding in `in`.
void decodeHybrid(Bytes& in, int width, size_t count, std::vector<uint32_t>& out, const std::string& where) {
    if (width < 0 || width > 32) fail(where, "a Parquet bit width above 32", "The file is damaged.");
    out.reserve(out.size() + count);
    size_t done = 0;
    const size_t byteWidth = (static_cast<size_t>(width) + 7) / 8;
    while (done < count) {
        uint64_t header = in.varint();
        if (header & 1) {  // bit-packed: (header >> 1) groups of 8 values, LSB first
            uint64_t groups = header >> 1;
            if (groups == 0 || groups > in.left() + 1)
                fail(where, "a bit-packed run longer than its page", "The file is damaged.");
            size_t nbytes = static_cast<size_t>(groups) * static_cast<size_t>(width);
            const uint8_t* p = in.take(nbytes);
            size_t n = static_cast<size_t>(groups) * 8;
            for (size_t i = 0; i < n && done < count; ++i, ++done) {
                uint64_t v = 0;
                size_t bit = i * static_cast<size_t>(width);
                for (int b = 0; b < width; ++b, ++bit) v |= uint64_t((p[bit >> 3] >> (bit & 7)) & 1) << b;
                out.push_back(static_cast<uint32_t>(v));
            }
        } else {  // a run of one value
            uint64_t run = header >> 1;
            const uint8_t* p = in.take(byteWidth);
            uint32_t v = 0;
            for (size_t b = 0; b < byteWidth; ++b) v |= uint32_t(p[b]) << (8 * b);
            if (run == 0) continue;
            size_t n = static_cast<size_t>(std::min<uint64_t>(run, count - done));
            out.insert(out.end(), n, v);
            done += n;
        }
    }
}

// The deprecated BIT_PACKED level encoding: MSB first, no run headers.
void decodeBitPackedLevels(Bytes& in, int width, size_t count, std::vector<uint32_t>& out) {
    size_t nbytes = (count * static_cast<size_t>(width) + 7) / 8;
    const uint8_t* p = in.take(nbytes);
    for (size_t i = 0; i < count; ++i) {
        uint32_t v = 0;
        for (int b = 0; b < width; ++b) {
            size_t bit = i * static_cast<size_t>(width) + static_cast<size_t>(b);
            v = (v << 1) | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
        }
        out.push_back(v);
    }
}

// ---------------------------------------------------------------------------------------------
// Values.

bool validUtf8(const std::string& s) {
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (len == 0 || i + len > n) return false;
        uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        for (size_t k = 1; k < len; ++k) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);
            if ((d >> 6) != 2) return false;
            cp = (cp << 6) | (d & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

struct ValueReader {
    int type;
    int typeLength;
    const SchemaElement* e;
    const std::string* where;

    json number(double v) const { return std::isfinite(v) ? json(v) : json(); }
    json scaled(int64_t v) const {
        if ((e->convertedType == kDecimal || e->logicalDecimal) && e->scale > 0 && e->scale < 30)
            return json(static_cast<double>(v) / std::pow(10.0, e->scale));
        return json(v);
    }
    json text(std::string s) const { return validUtf8(s) ? json(std::move(s)) : json(); }

    // `count` little-endian values of T from `in`, each made into json by `make`.
    template <class T, class Make>
    static void fixedWidth(Bytes& in, size_t count, std::vector<json>& out, Make make) {
        const uint8_t* p = in.take(count * sizeof(T));
        for (size_t i = 0; i < count; ++i) {
            T v;
            std::memcpy(&v, p + sizeof(T) * i, sizeof(T));
            out.push_back(make(v));
        }
    }

    // PLAIN: `count` values from `in`.
    void plain(Bytes& in, size_t count, std::vector<json>& out) const {
        switch (type) {
            case kBoolean: {
                const uint8_t* p = in.take((count + 7) / 8);
                for (size_t i = 0; i < count; ++i) out.push_back(json(((p[i >> 3] >> (i & 7)) & 1) != 0));
                return;
            }
            case kInt32: return fixedWidth<int32_t>(in, count, out, [this](int32_t v) { return scaled(v); });
            case kInt64: return fixedWidth<int64_t>(in, count, out, [this](int64_t v) { return scaled(v); });
            case kInt96:
                in.take(count * 12);
                out.insert(out.end(), count, json());
                return;  // legacy timestamps
            case kFloat: return fixedWidth<float>(in, count, out, [this](float v) { return number(v); });
            case kDoubleT: return fixedWidth<double>(in, count, out, [this](double v) { return number(v); });
            case kByteArray:
                for (size_t i = 0; i < count; ++i) {
                    uint32_t n = in.u32le();
                    const uint8_t* p = in.take(n);
                    out.push_back(text(std::string(reinterpret_cast<const char*>(p), n)));
                }
                return;
            case kFixed: {
                if (typeLength < 0) fail(*where, "a negative FIXED_LEN_BYTE_ARRAY length", "The file is damaged.");
                for (size_t i = 0; i < count; ++i) {
                    const uint8_t* p = in.take(static_cast<size_t>(typeLength));
                    out.push_back(text(std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(typeLength))));
                }
                return;
            }
            default: fail(*where, "unknown Parquet physical type " + std::to_string(type), "The file is damaged.");
        }
    }
};

// One leaf column, decoded: a level pair per entry and a value per defined entry.
struct ColumnData {
    std::vector<uint32_t> rep, def;
    std::vector<json> values;
};

std::string encodingName(int e) {
    switch (e) {
        case 0: return "PLAIN";
        case 2: return "PLAIN_DICTIONARY";
        case 3: return "RLE";
        case 4: return "BIT_PACKED";
        case 5: return "DELTA_BINARY_PACKED";
        case 6: return "DELTA_LENGTH_BYTE_ARRAY";
        case 7: return "DELTA_BYTE_ARRAY";
        case 8: return "RLE_DICTIONARY";
        case 9: return "BYTE_STREAM_SPLIT";
        default: return "encoding " + std::to_string(e);
    }
}

void readChunk(const std::string& bytes, const ColumnMeta& cm, const Leaf& leaf, const Node& leafNode,
               const std::string& where, ColumnData& out) {
    const size_t fileSize = bytes.size();
    int64_t start = cm.dictionaryPageOffset > 0 && cm.dictionaryPageOffset < cm.dataPageOffset ? cm.dictionaryPageOffset
                                                                                               : cm.dataPageOffset;
    if (start < 4 || static_cast<uint64_t>(start) >= fileSize)
        fail(where, "a column chunk starts outside the file", "The file is damaged or truncated; re-download it.");
    size_t pos = static_cast<size_t>(start);
    ValueReader vr{cm.type, leafNode.e.typeLength, &leafNode.e, &where};
    std::vector<json> dictionary;
    bool haveDictionary = false;
    int64_t valuesSeen = 0;
    const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
    while (valuesSeen < cm.numValues) {
        if (pos >= fileSize - 8)
            fail(where, "the column chunk runs past the end of the data", "The file is truncated; re-download it.");
        Thrift t(base + pos, fileSize - 8 - pos, where);
        PageHeader h = readPageHeader(t);
        pos += t.consumed(base + pos);
        if (h.compressedSize < 0 || h.uncompressedSize < 0 || static_cast<size_t>(h.compressedSize) > fileSize - pos ||
            static_cast<size_t>(h.uncompressedSize) > kMaxPageBytes)
            fail(where, "a page size is out of bounds", "The file is damaged or truncated; re-download it.");
        const char* raw = bytes.data() + pos;
        size_t rawSize = static_cast<size_t>(h.compressedSize);
        pos += rawSize;
        if (h.type == kIndexPage) continue;
        if (h.type == kDictionaryPage) {
            if (h.numValues < 0) fail(where, "a negative dictionary size", "The file is damaged.");
            std::string page =
                parquetDecompress(cm.codec, raw, rawSize, static_cast<size_t>(h.uncompressedSize), where);
            Bytes in(reinterpret_cast<const uint8_t*>(page.data()), page.size(), &where);
            if (h.encoding != kPlain && h.encoding != kPlainDictionary)
                fail(where, "a dictionary page in " + encodingName(h.encoding) + " encoding",
                     "Only PLAIN dictionaries exist in the format.");
            if (static_cast<size_t>(h.numValues) > page.size() * 8 + 8)
                fail(where, "a dictionary larger than its page", "The file is damaged.");
            dictionary.clear();
            vr.plain(in, static_cast<size_t>(h.numValues), dictionary);
            haveDictionary = true;
            continue;
        }
        if (h.type != kDataPage && h.type != kDataPageV2)
            fail(where, "unknown page type " + std::to_string(h.type), "The file is damaged.");
        // Bounded so that a tiny corrupt page cannot claim billions of (run-length encoded) entries.
        if (h.numValues < 0 || h.numValues > kMaxPageValues)
            fail(where, "a page value count is out of bounds", "The file is damaged.");
        const size_t n = static_cast<size_t>(h.numValues);
        std::string page;
        const uint8_t* p;
        size_t size;
        std::vector<uint32_t> rep, def;
        if (h.type == kDataPageV2) {
            // v2: levels first, never compressed, their byte lengths in the header; then the values.
            if (h.repBytes < 0 || h.defBytes < 0 ||
                static_cast<size_t>(h.repBytes) + static_cast<size_t>(h.defBytes) > rawSize)
                fail(where, "level sizes larger than the page", "The file is damaged.");
            Bytes lv(reinterpret_cast<const uint8_t*>(raw),
                     static_cast<size_t>(h.repBytes) + static_cast<size_t>(h.defBytes), &where);
            if (leaf.maxRep > 0) {
                Bytes r(lv.take(static_cast<size_t>(h.repBytes)), static_cast<size_t>(h.repBytes), &where);
                decodeHybrid(r, bitWidth(leaf.maxRep), n, rep, where);
            } else {
                lv.take(static_cast<size_t>(h.repBytes));
            }
            if (leaf.maxDef > 0) {
                Bytes d(lv.take(static_cast<size_t>(h.defBytes)), static_cast<size_t>(h.defBytes), &where);
                decodeHybrid(d, bitWidth(leaf.maxDef), n, def, where);
            }
            size_t lvBytes = static_cast<size_t>(h.repBytes) + static_cast<size_t>(h.defBytes);
            size_t valueUncompressed = static_cast<size_t>(h.uncompressedSize) >= lvBytes
                ? static_cast<size_t>(h.uncompressedSize) - lvBytes
                : 0;
            if (h.compressed) {
                page = parquetDecompress(cm.codec, raw + lvBytes, rawSize - lvBytes, valueUncompressed, where);
            } else {
                page.assign(raw + lvBytes, rawSize - lvBytes);
            }
            p = reinterpret_cast<const uint8_t*>(page.data());
            size = page.size();
        } else {
            page = parquetDecompress(cm.codec, raw, rawSize, static_cast<size_t>(h.uncompressedSize), where);
            Bytes in(reinterpret_cast<const uint8_t*>(page.data()), page.size(), &where);
            auto levels = [&](int maxLevel, int encoding, std::vector<uint32_t>& dst) {
                if (maxLevel == 0) return;
                if (encoding == kBitPacked) {
                    decodeBitPackedLevels(in, bitWidth(maxLevel), n, dst);
                    return;
                }
                if (encoding != kRle)
                    fail(where, "levels in " + encodingName(encoding) + " encoding", "The file is damaged.");
                uint32_t len = in.u32le();
                Bytes sub(in.take(len), len, &where);
                decodeHybrid(sub, bitWidth(maxLevel), n, dst, where);
            };
            levels(leaf.maxRep, h.repEncoding, rep);
            levels(leaf.maxDef, h.defEncoding, def);
            p = in.pos();
            size = in.left();
        }
        if (rep.size() < n) rep.resize(n, 0);
        if (def.size() < n) def.resize(n, static_cast<uint32_t>(leaf.maxDef));
        rep.resize(n);
        def.resize(n);
        size_t defined = 0;
        for (uint32_t d : def) {
            if (d > static_cast<uint32_t>(leaf.maxDef))
                fail(where, "a definition level above the schema's maximum", "The file is damaged.");
            if (d == static_cast<uint32_t>(leaf.maxDef)) ++defined;
        }
        for (uint32_t r : rep)
            if (r > static_cast<uint32_t>(leaf.maxRep))
                fail(where, "a repetition level above the schema's maximum", "The file is damaged.");
        Bytes values(p, size, &where);
        if (h.encoding == kPlain) {
            if (cm.type != kBoolean && defined > size)
                fail(where, "more values than bytes in a page", "The file is damaged.");
            vr.plain(values, defined, out.values);
        } else if (h.encoding == kRleDictionary || h.encoding == kPlainDictionary) {
            if (!haveDictionary)
                fail(where, "a dictionary-encoded page without a dictionary page", "The file is damaged.");
            if (defined > 0) {
                int width = *values.take(1);
                std::vector<uint32_t> idx;
                decodeHybrid(values, width, defined, idx, where);
                for (uint32_t i : idx) {
                    if (i >= dictionary.size()) fail(where, "a dictionary index out of range", "The file is damaged.");
                    out.values.push_back(dictionary[i]);
                }
            }
        } else if (h.encoding == kRle && cm.type == kBoolean) {
            uint32_t len = values.u32le();
            Bytes sub(values.take(len), len, &where);
            std::vector<uint32_t> bits;
            decodeHybrid(sub, 1, defined, bits, where);
            for (uint32_t b : bits) out.values.push_back(json(b != 0));
        } else {
            fail(where, "values in " + encodingName(h.encoding) + " encoding are not supported",
                 "Re-write the file with PLAIN or dictionary encoding (pyarrow: use_dictionary=True, "
                 "column_encoding=None; DuckDB and pandas defaults do).");
        }
        out.rep.insert(out.rep.end(), rep.begin(), rep.end());
        out.def.insert(out.def.end(), def.begin(), def.end());
        valuesSeen += h.numValues;
    }
}

// ---------------------------------------------------------------------------------------------
// Record assembly. Each leaf builds its own raw tree per row (groups -> objects, repeated nodes
// -> arrays); the trees of a top-level field's leaves are merged, then LIST/MAP wrappers are
// collapsed the way Arrow shows them.

void placeEntry(json& row, const Schema& s, const Leaf& leaf, uint32_t r, uint32_t d, const json* value) {
    json* cur = &row;
    for (size_t i = 0; i < leaf.path.size(); ++i) {
        const Node& n = s.nodes[leaf.path[i]];
        const bool isLeaf = i + 1 == leaf.path.size();
        json& slot = (*cur)[n.e.name];
        if (d < static_cast<uint32_t>(n.maxDef)) {  // this node is absent here
            if (n.e.repetition == kRepeated) {
                if (!slot.is_array()) slot = json::array();
            } else if (slot.is_null() || !slot.is_object()) {
                slot = nullptr;
            }
            return;
        }
        json* target = &slot;
        if (n.e.repetition == kRepeated) {
            if (!slot.is_array()) slot = json::array();
            if (static_cast<uint32_t>(n.maxRep) < r && !slot.empty()) {
                target = &slot.back();  // continuing the list this node already has
            } else {
                slot.push_back(isLeaf ? json() : json::object());
                target = &slot.back();
            }
        } else if (!isLeaf && !slot.is_object()) {
            slot = json::object();
        }
        if (isLeaf) {
            *target = value ? *value : json();
            return;
        }
        cur = target;
    }
}

void mergeInto(json& a, json&& b) {
    if (a.is_object() && b.is_object()) {
        for (auto it = b.begin(); it != b.end(); ++it) {
            auto found = a.find(it.key());
            if (found == a.end()) a[it.key()] = std::move(it.value());
            else mergeInto(*found, std::move(it.value()));
        }
    } else if (a.is_array() && b.is_array()) {
        for (size_t i = 0; i < b.size(); ++i) {
            if (i < a.size()) mergeInto(a[i], std::move(b[i]));
            else a.push_back(std::move(b[i]));
        }
    } else if (a.is_null()) {
        a = std::move(b);
    }
}

json collapse(const Schema& s, int node, json v) {
    const Node& n = s.nodes[node];
    if (n.children.empty() || v.is_null()) return v;
    auto groupValue = [&](json obj) {
        if (!obj.is_object()) return obj;
        json out = json::object();
        for (int c : n.children) {
            const Node& cn = s.nodes[c];
            auto it = obj.find(cn.e.name);
            json child = it == obj.end() ? json() : std::move(*it);
            if (cn.e.repetition == kRepeated) {
                json arr = json::array();
                if (child.is_array())
                    for (auto& el : child) arr.push_back(collapse(s, c, std::move(el)));
                out[cn.e.name] = std::move(arr);
            } else {
                out[cn.e.name] = collapse(s, c, std::move(child));
            }
        }
        return out;
    };
    const bool isList = n.e.convertedType == kListC || n.e.logicalList;
    const bool isMap = n.e.convertedType == kMapC || n.e.convertedType == kMapKeyValue || n.e.logicalMap;
    if ((isList || isMap) && n.children.size() == 1 && s.nodes[n.children[0]].e.repetition == kRepeated) {
        const int rc = n.children[0];
        const Node& rn = s.nodes[rc];
        json items = v.is_object() && v.contains(rn.e.name) ? std::move(v[rn.e.name]) : json::array();
        json out = isMap ? json::object() : json::array();
        if (!items.is_array()) return out;
        for (auto& item : items) {
            json el = collapse(s, rc, std::move(item));
            if (isMap) {
                // key_value { key, value } -> {"key": value} (string keys only; JSON has no others)
                if (el.is_object() && el.contains("key") && el["key"].is_string())
                    out[el["key"].get<std::string>()] = el.contains("value") ? el["value"] : json();
                continue;
            }
            // 3-level lists: the repeated group wraps one element field.
            if (!rn.children.empty() && rn.children.size() == 1 && el.is_object() && rn.e.name != "array" &&
                rn.e.name.find("_tuple") == std::string::npos)
                el = std::move(el[s.nodes[rn.children[0]].e.name]);
            out.push_back(std::move(el));
        }
        return out;
    }
    return groupValue(std::move(v));
}

}  // namespace

bool looksLikeParquet(const std::string& bytes) {
    return bytes.size() >= 12 && bytes.compare(0, 4, "PAR1") == 0 && bytes.compare(bytes.size() - 4, 4, "PAR1") == 0;
}

std::vector<json> readParquet(const std::string& path, const std::string& bytes) {
    if (!looksLikeParquet(bytes))
        fail(path,
             bytes.size() >= 4 && bytes.compare(0, 4, "PAR1") == 0 ? "the Parquet file is truncated (no footer)"
                                                                   : "not a Parquet file (no PAR1 magic)",
             "Re-download or re-export the file.");
    const auto* base = reinterpret_cast<const uint8_t*>(bytes.data());
    size_t n = bytes.size();
    uint32_t footerLen =
        uint32_t(base[n - 8]) | uint32_t(base[n - 7]) << 8 | uint32_t(base[n - 6]) << 16 | uint32_t(base[n - 5]) << 24;
    if (footerLen > n - 12)
        fail(path, "the Parquet footer length points outside the file",
             "The file is damaged or truncated; re-download it.");
    Thrift t(base + n - 8 - footerLen, footerLen, path);
    FileMeta meta = readFileMeta(t);
    Schema schema = buildSchema(meta.schema, path);
    const Node& root = schema.nodes[0];

    std::vector<json> rows;
    for (size_t g = 0; g < meta.rowGroups.size(); ++g) {
        const RowGroup& rg = meta.rowGroups[g];
        if (rg.columns.size() != schema.leaves.size())
            fail(path,
                 "row group " + std::to_string(g) + " has " + std::to_string(rg.columns.size()) +
                     " columns, the schema " + std::to_string(schema.leaves.size()),
                 "The file is damaged.");
        if (rg.numRows < 0 || static_cast<uint64_t>(rg.numRows) > n * 8)
            fail(path, "row group " + std::to_string(g) + " claims " + std::to_string(rg.numRows) + " rows",
                 "The file is damaged.");
        const size_t first = rows.size();
        rows.resize(first + static_cast<size_t>(rg.numRows), json::object());
        // Per top-level field, the raw trees of its leaves (merged as they come).
        std::vector<std::vector<json>> fieldRows(root.children.size());
        for (size_t c = 0; c < schema.leaves.size(); ++c) {
            const Leaf& leaf = schema.leaves[c];
            const std::string where = path + ": column '" + leaf.name + "' (row group " + std::to_string(g) + ")";
            const ColumnMeta& cm = rg.columns[c];
            const Node& leafNode = schema.nodes[leaf.path.back()];
            if (cm.type != leafNode.e.type)
                fail(where, "the column's type differs from the schema's", "The file is damaged.");
            ColumnData data;
            readChunk(bytes, cm, leaf, leafNode, where, data);
            const size_t top = static_cast<size_t>(
                std::find(root.children.begin(), root.children.end(), leaf.path.front()) - root.children.begin());
            std::vector<json> raw;
            raw.reserve(static_cast<size_t>(rg.numRows));
            size_t vi = 0;
            for (size_t i = 0; i < data.def.size(); ++i) {
                if (data.rep[i] == 0) {
                    if (raw.size() >= static_cast<size_t>(rg.numRows))
                        fail(where, "more rows than the row group's " + std::to_string(rg.numRows),
                             "The file is damaged.");
                    raw.push_back(json::object());
                } else if (raw.empty()) {
                    fail(where, "the first value continues a row that never started", "The file is damaged.");
                }
                const json* value = nullptr;
                if (data.def[i] == static_cast<uint32_t>(leaf.maxDef)) {
                    if (vi >= data.values.size())
                        fail(where, "fewer values than definition levels say", "The file is damaged.");
                    value = &data.values[vi++];
                }
                placeEntry(raw.back(), schema, leaf, data.rep[i], data.def[i], value);
            }
            if (raw.size() != static_cast<size_t>(rg.numRows))
                fail(where,
                     "holds " + std::to_string(raw.size()) + " rows, the row group " + std::to_string(rg.numRows),
                     "The file is damaged.");
            auto& dst = fieldRows[top];
            if (dst.empty()) {
                dst = std::move(raw);
            } else {
                for (size_t r = 0; r < raw.size(); ++r) mergeInto(dst[r], std::move(raw[r]));
            }
        }
        for (size_t f = 0; f < root.children.size(); ++f) {
            const int node = root.children[f];
            const std::string& name = schema.nodes[node].e.name;
            for (size_t r = 0; r < static_cast<size_t>(rg.numRows); ++r) {
                json v;
                if (!fieldRows[f].empty()) {
                    auto it = fieldRows[f][r].find(name);
                    if (it != fieldRows[f][r].end()) v = std::move(*it);
                }
                if (schema.nodes[node].e.repetition == kRepeated) {
                    json arr = json::array();
                    if (v.is_array())
                        for (auto& el : v) arr.push_back(collapse(schema, node, std::move(el)));
                    rows[first + r][name] = std::move(arr);
                } else {
                    rows[first + r][name] = collapse(schema, node, std::move(v));
                }
            }
        }
    }
    return rows;
}

}  // namespace peft::data
