// Dataset file import: encoding checks, JSONL / JSON-array / CSV / TSV / TXT splitting into rows;
// Parquet files go to parquet_reader.
#include "core/data/dataset_file.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "core/data/parquet_reader.h"
#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::data {

using nlohmann::json;

std::string fileTypeName(FileType t) {
    switch (t) {
        case FileType::Jsonl: return "jsonl";
        case FileType::Json: return "json";
        case FileType::Csv: return "csv";
        case FileType::Tsv: return "tsv";
        case FileType::Txt: return "txt";
        case FileType::Parquet: return "parquet";
    }
    return "?";
}

namespace {

// Maps byte offsets to 1-based line numbers.
class LineIndex {
public:
    explicit LineIndex(const std::string& s) {
        m_starts.push_back(0);
        for (size_t i = 0; i < s.size(); ++i)
            if (s[i] == '\n') m_starts.push_back(i + 1);
    }
    int64_t lineOf(size_t offset) const {
        auto it = std::upper_bound(m_starts.begin(), m_starts.end(), offset);
        return static_cast<int64_t>(it - m_starts.begin());
    }

private:
    std::vector<size_t> m_starts;
};

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

std::string hexByte(unsigned char c) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", c);
    return buf;
}

bool startsWith(const std::string& s, const char* p, size_t n) { return s.size() >= n && s.compare(0, n, p, n) == 0; }

size_t skipWs(const std::string& s, size_t i) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
    return i;
}

// Collects rejections under the chosen policy.
struct Sink {
    RawDataset& ds;
    ErrorPolicy policy;
    void reject(int64_t line, const std::string& reason) {
        ++ds.rowsRead;
        if (policy == ErrorPolicy::Stop)
            fail(ds.path + ":" + std::to_string(line), reason, "Fix or remove that row, or choose to skip bad rows.");
        ds.rejections.push_back({ds.path, line, reason});
    }
    void accept(json v, int64_t line) {
        ++ds.rowsRead;
        ds.rows.push_back({std::move(v), line});
    }
};

// JSON that parses but holds a value nlohmann cannot represent (a number such as 1e999 overflows
// a double: out_of_range.406): "number overflow parsing '1e999'".
std::string shortJsonError(const json::exception& e) {
    std::string w = e.what();
    auto p = w.find("] ");
    return p == std::string::npos ? w : w.substr(p + 2);
}

std::string shortParseError(const json::parse_error& e) {
    std::string w = e.what();
    // nlohmann: "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    auto p = w.find("syntax error");
    if (p != std::string::npos) w = w.substr(p);
    return w;
}

// One row's text, which must be a JSON object: accepted, or rejected with the parser's reason.
void acceptObject(Sink& sink, int64_t line, const std::string& text) {
    try {
        json v = json::parse(text);
        if (!v.is_object()) sink.reject(line, std::string("expected a JSON object, found ") + v.type_name());
        else sink.accept(std::move(v), line);
    } catch (const json::parse_error& e) {
        sink.reject(line, "bad JSON (" + shortParseError(e) + ")");
    } catch (const json::exception& e) {
        sink.reject(line, "bad JSON (" + shortJsonError(e) + ")");
    }
}

void readJsonl(const std::string& bytes, Sink& sink) {
    size_t pos = 0;
    int64_t line = 0;
    while (pos <= bytes.size()) {
        size_t nl = bytes.find('\n', pos);
        if (nl == std::string::npos) nl = bytes.size();
        ++line;
        std::string text = bytes.substr(pos, nl - pos);
        pos = nl + 1;
        if (skipWs(text, 0) == text.size()) {
            if (nl == bytes.size()) break;
            continue;
        }
        acceptObject(sink, line, text);
        if (nl == bytes.size()) break;
    }
}

void readJsonArray(const std::string& path, const std::string& bytes, Sink& sink) {
    LineIndex lines(bytes);
    size_t i = skipWs(bytes, 0);
    if (i >= bytes.size()) return;  // empty file: no rows
    if (bytes[i] != '[')
        fail(path + ":" + std::to_string(lines.lineOf(i)),
             "expected a JSON array of objects ([{...}, {...}]), found '" + std::string(1, bytes[i]) + "'",
             "Save the rows as a JSON array, or one object per line in a .jsonl file.");
    ++i;
    while (true) {
        i = skipWs(bytes, i);
        if (i >= bytes.size()) {
            sink.reject(lines.lineOf(bytes.size() ? bytes.size() - 1 : 0), "the JSON array is not closed with ']'");
            return;
        }
        if (bytes[i] == ']') return;
        // Scan one element up to the ',' or ']' at depth 0, honouring strings.
        size_t start = i;
        int depth = 0;
        bool inStr = false, esc = false;
        for (; i < bytes.size(); ++i) {
            char c = bytes[i];
            if (inStr) {
                if (esc) esc = false;
                else if (c == '\\') esc = true;
                else if (c == '"') inStr = false;
                continue;
            }
            if (c == '"') inStr = true;
            else if (c == '{' || c == '[') ++depth;
            else if (c == '}' || c == ']') {
                // At depth 0 only ']' closes the array. A stray '}' stays in the element (which then
                // fails to parse and is rejected): stopping on it never advanced, and the loop added
                // "empty array element" rejections forever (found by fuzz_dataset).
                if (depth == 0) {
                    if (c == ']') break;
                    continue;
                }
                --depth;
            } else if (c == ',' && depth == 0) break;
        }
        int64_t line = lines.lineOf(start);
        if (i >= bytes.size()) {
            sink.reject(line, "bad JSON (element not terminated before the end of the file)");
            return;
        }
        std::string text = bytes.substr(start, i - start);
        if (skipWs(text, 0) == text.size()) {
            sink.reject(line, "bad JSON (empty array element)");
        } else {
            acceptObject(sink, line, text);
        }
        if (bytes[i] == ',') ++i;
    }
}

void readTxt(const std::string& bytes, Sink& sink) {
    size_t pos = 0;
    int64_t line = 0;
    while (pos < bytes.size()) {
        size_t nl = bytes.find('\n', pos);
        if (nl == std::string::npos) nl = bytes.size();
        ++line;
        std::string text = bytes.substr(pos, nl - pos);
        if (!text.empty() && text.back() == '\r') text.pop_back();
        pos = nl + 1;
        if (skipWs(text, 0) == text.size()) continue;
        sink.accept(json{{"text", text}}, line);
    }
}

void readDelimited(const std::string& bytes, char delim, Sink& sink) {
    auto recs = parseCsv(bytes, delim);
    // Drop records that are a single empty field (blank lines).
    std::vector<CsvRecord> kept;
    for (auto& r : recs)
        if (!(r.error.empty() && r.fields.size() == 1 && r.fields[0].empty())) kept.push_back(std::move(r));
    if (kept.empty()) return;
    const CsvRecord& header = kept[0];
    if (!header.error.empty())
        fail(sink.ds.path + ":" + std::to_string(header.line), "the header row is malformed (" + header.error + ")",
             "The first row must name the columns.");
    std::vector<std::string> names = header.fields;
    for (size_t k = 0; k < names.size(); ++k) {
        if (names[k].empty())
            fail(sink.ds.path + ":" + std::to_string(header.line),
                 "header column " + std::to_string(k + 1) + " is empty", "Give every column a name in the first row.");
        for (size_t m = 0; m < k; ++m)
            if (names[m] == names[k])
                fail(sink.ds.path + ":" + std::to_string(header.line), "header column '" + names[k] + "' appears twice",
                     "Give every column a distinct name.");
    }
    for (size_t r = 1; r < kept.size(); ++r) {
        const auto& rec = kept[r];
        if (!rec.error.empty()) {
            sink.reject(rec.line, "bad " + std::string(delim == '\t' ? "TSV" : "CSV") + " row (" + rec.error + ")");
            continue;
        }
        if (rec.fields.size() != names.size()) {
            sink.reject(rec.line,
                        "expected " + std::to_string(names.size()) + " fields as in the header, found " +
                            std::to_string(rec.fields.size()));
            continue;
        }
        json obj = json::object();
        for (size_t k = 0; k < names.size(); ++k) obj[names[k]] = rec.fields[k];
        sink.accept(std::move(obj), rec.line);
    }
}

}  // namespace

std::vector<CsvRecord> parseCsv(const std::string& text, char delim) {
    std::vector<CsvRecord> out;
    size_t i = 0, n = text.size();
    int64_t line = 1;
    while (i < n) {
        CsvRecord rec;
        rec.line = line;
        std::string field;
        bool done = false;
        while (!done) {
            field.clear();
            if (i < n && text[i] == '"') {
                ++i;
                bool closed = false;
                while (i < n) {
                    char c = text[i];
                    if (c == '"') {
                        if (i + 1 < n && text[i + 1] == '"') {
                            field += '"';
                            i += 2;
                            continue;
                        }
                        ++i;
                        closed = true;
                        break;
                    }
                    if (c == '\n') ++line;
                    field += c;
                    ++i;
                }
                if (!closed) {
                    rec.error = "a quoted field opened on line " + std::to_string(rec.line) + " is never closed";
                    rec.fields.push_back(field);
                    out.push_back(std::move(rec));
                    return out;
                }
                // After the closing quote: delimiter, end of line or end of file.
                if (i < n && text[i] != delim && text[i] != '\n' && text[i] != '\r') {
                    if (rec.error.empty())
                        rec.error = "unexpected character after a closing quote in field " +
                            std::to_string(rec.fields.size() + 1) + " (write a quote inside a field as \"\")";
                    while (i < n && text[i] != delim && text[i] != '\n') field += text[i++];
                }
            } else {
                while (i < n && text[i] != delim && text[i] != '\n') {
                    if (text[i] == '"' && rec.error.empty())
                        rec.error = "a quote inside unquoted field " + std::to_string(rec.fields.size() + 1) +
                            " (quote the whole field and double the quote)";
                    field += text[i++];
                }
                if (!field.empty() && field.back() == '\r' && (i >= n || text[i] == '\n')) field.pop_back();
            }
            rec.fields.push_back(field);
            if (i < n && text[i] == delim) {
                ++i;
            } else {
                if (i < n && text[i] == '\r') ++i;
                if (i < n && text[i] == '\n') {
                    ++i;
                    ++line;
                }
                done = true;
            }
        }
        out.push_back(std::move(rec));
    }
    return out;
}

void checkTextEncoding(const std::string& path, const std::string& b) {
    const char* fix = "Save the file as UTF-8 text (most editors: Save As -> Encoding: UTF-8).";
    if (startsWith(b, "\xFF\xFE\x00\x00", 4) || startsWith(b, "\x00\x00\xFE\xFF", 4))
        fail(path, "the file is UTF-32 encoded (it starts with a UTF-32 byte-order mark), expected UTF-8", fix);
    if (startsWith(b, "\xFF\xFE", 2))
        fail(path, "the file is UTF-16 little-endian (it starts with the UTF-16 byte-order mark FF FE), expected UTF-8",
             fix);
    if (startsWith(b, "\xFE\xFF", 2))
        fail(path, "the file is UTF-16 big-endian (it starts with the UTF-16 byte-order mark FE FF), expected UTF-8",
             fix);
    struct Magic {
        const char* bytes;
        size_t n;
        const char* what;
    };
    static const Magic magics[] = {{"PK\x03\x04", 4, "a ZIP archive (or .xlsx/.docx)"},
                                   {"\x1F\x8B", 2, "a gzip-compressed file"},
                                   {"PAR1", 4, "a Parquet file"},
                                   {"\x28\xB5\x2F\xFD", 4, "a Zstandard-compressed file"},
                                   {"BZh", 3, "a bzip2-compressed file"},
                                   {"\xFD"
                                    "7zXZ",
                                    5, "an xz-compressed file"},
                                   {"ARROW1", 6, "an Arrow file"},
                                   {"%PDF", 4, "a PDF document"},
                                   {"\xD0\xCF\x11\xE0", 4, "an old Office document (.xls/.doc)"}};
    for (const auto& m : magics)
        if (startsWith(b, m.bytes, m.n))
            fail(path, std::string("this is ") + m.what + ", not a text dataset",
                 "Export the data as JSONL, JSON, CSV, TSV or TXT (UTF-8) and import that file.");
    LineIndex lines(b);
    auto where = [&](size_t off) {
        return path + ":" + std::to_string(lines.lineOf(off)) + " (byte offset " + std::to_string(off) + ")";
    };
    size_t i = 0, n = b.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(b[i]);
        if (c == 0) {
            // UTF-16 text without a BOM: ASCII letters alternate with NULs on one parity.
            size_t m = std::min<size_t>(n, 512), zeroEven = 0, zeroOdd = 0;
            for (size_t k = 0; k < m; ++k)
                if (b[k] == 0) ++(k % 2 ? zeroOdd : zeroEven);
            size_t half = m / 2;
            bool utf16 = half > 0 &&
                ((zeroOdd * 10 >= half * 9 && zeroEven * 10 <= half) ||
                 (zeroEven * 10 >= half * 9 && zeroOdd * 10 <= half));
            fail(where(i),
                 utf16 ? "NUL bytes between characters: the file looks UTF-16 encoded (without a byte-order mark), "
                         "expected UTF-8"
                       : "a NUL byte: this looks like a binary file, not UTF-8 text",
                 fix);
        }
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len = 0;
        uint32_t cp = 0, minCp = 0;
        if ((c & 0xE0) == 0xC0) len = 2, cp = c & 0x1F, minCp = 0x80;
        else if ((c & 0xF0) == 0xE0) len = 3, cp = c & 0x0F, minCp = 0x800;
        else if ((c & 0xF8) == 0xF0) len = 4, cp = c & 0x07, minCp = 0x10000;
        bool ok = len > 0 && i + len <= n;
        for (size_t k = 1; ok && k < len; ++k) {
            unsigned char cc = static_cast<unsigned char>(b[i + k]);
            if ((cc & 0xC0) != 0x80) ok = false;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (ok && (cp < minCp || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) ok = false;
        if (!ok)
            fail(where(i),
                 "invalid UTF-8 (byte " + hexByte(c) +
                     "); the file is probably in another encoding such as Latin-1 or Windows-1252",
                 fix);
        i += len;
    }
}

FileType detectFileType(const std::string& path, const std::string& bytes) {
    std::string ext = lower(std::filesystem::path(path).extension().string());
    size_t first = skipWs(bytes, bytes.compare(0, 3, "\xEF\xBB\xBF") == 0 ? 3 : 0);
    char c = first < bytes.size() ? bytes[first] : '\0';
    if (ext == ".parquet" || looksLikeParquet(bytes)) return FileType::Parquet;
    if (ext == ".jsonl" || ext == ".ndjson") return FileType::Jsonl;
    if (ext == ".json") return c == '{' ? FileType::Jsonl : FileType::Json;
    if (ext == ".csv") return FileType::Csv;
    if (ext == ".tsv" || ext == ".tab") return FileType::Tsv;
    if (ext == ".txt" || ext == ".text" || ext == ".md") return FileType::Txt;
    // Unknown extension: sniff.
    if (c == '[') return FileType::Json;
    if (c == '{') return FileType::Jsonl;
    size_t nl = bytes.find('\n', first);
    std::string firstLine = bytes.substr(first, nl == std::string::npos ? std::string::npos : nl - first);
    if (firstLine.find('\t') != std::string::npos) return FileType::Tsv;
    return FileType::Txt;
}

RawDataset parseDatasetBytes(const std::string& path, std::string bytes, ErrorPolicy policy,
                             std::optional<FileType> type) {
    RawDataset ds;
    ds.path = path;
    if (type ? *type == FileType::Parquet : detectFileType(path, bytes) == FileType::Parquet) {
        // Binary columnar file: every row is an object already; its "line" is the 1-based row number.
        ds.type = FileType::Parquet;
        Sink sink{ds, policy};
        int64_t row = 0;
        for (auto& v : readParquet(path, bytes)) sink.accept(std::move(v), ++row);
        return ds;
    }
    checkTextEncoding(path, bytes);
    ds.type = type ? *type : detectFileType(path, bytes);
    if (bytes.compare(0, 3, "\xEF\xBB\xBF") == 0) bytes.erase(0, 3);  // UTF-8 BOM; offsets stay line-exact
    Sink sink{ds, policy};
    switch (ds.type) {
        case FileType::Jsonl: {
            // A file that is one JSON array, mislabelled .jsonl, gets a pointed message.
            size_t f = skipWs(bytes, 0);
            if (f < bytes.size() && bytes[f] == '[') {
                readJsonArray(path, bytes, sink);
                break;
            }
            // Wrong file type: not a single line opens a JSON object.
            bool anyObject = f >= bytes.size();
            for (size_t p = 0; !anyObject && p < bytes.size();) {
                size_t q = skipWs(bytes, p);
                if (q < bytes.size() && bytes[q] == '{') anyObject = true;
                size_t nl = bytes.find('\n', q);
                p = nl == std::string::npos ? bytes.size() : nl + 1;
            }
            if (!anyObject) {
                size_t nl = bytes.find('\n', f);
                std::string first =
                    bytes.substr(f, std::min<size_t>(40, (nl == std::string::npos ? bytes.size() : nl) - f));
                fail(
                    path,
                    "this does not look like JSONL: no line holds a JSON object (line 1 starts with \"" + first + "\")",
                    "JSONL needs one {...} object per line. If this is CSV, TSV or plain text, give the file a .csv, "
                    ".tsv or .txt extension.");
            }
            readJsonl(bytes, sink);
            break;
        }
        case FileType::Json: readJsonArray(path, bytes, sink); break;
        case FileType::Csv:
        case FileType::Tsv: {
            size_t f = skipWs(bytes, 0);
            if (f < bytes.size() && (bytes[f] == '{' || bytes[f] == '['))
                fail(path,
                     "this looks like JSON, not " + std::string(ds.type == FileType::Csv ? "CSV" : "TSV") +
                         " (it starts with '" + bytes[f] + "')",
                     "Give the file a .jsonl (one object per line) or .json (an array) extension.");
            readDelimited(bytes, ds.type == FileType::Csv ? ',' : '\t', sink);
            break;
        }
        case FileType::Txt: readTxt(bytes, sink); break;
        case FileType::Parquet: break;  // handled above
    }
    return ds;
}

RawDataset readDatasetFile(const std::string& path, ErrorPolicy policy) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) fail(path, "the dataset file does not exist", "Check the path.");
    if (std::filesystem::is_directory(path, ec))
        fail(path, "this is a folder, expected a dataset file (.jsonl, .json, .csv, .tsv, .txt, .parquet)",
             "Choose the file inside the folder.");
    return parseDatasetBytes(path, readFile(path), policy);
}

}  // namespace peft::data
