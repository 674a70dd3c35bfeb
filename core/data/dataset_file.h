// Dataset file import: JSONL, JSON (array), CSV/TSV with a header, plain TXT, Parquet -> rows of JSON
// objects, each tagged with its 1-based line. Encoding and file-type problems are whole-file errors.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace peft::data {

enum class FileType { Jsonl, Json, Csv, Tsv, Txt, Parquet };
std::string fileTypeName(FileType t);

// What to do with a bad row: skip it and report it (default), or throw at the first one.
enum class ErrorPolicy { Skip, Stop };

// One rejected row: where it is and why, in words the user can act on.
struct Rejection {
    std::string file;
    int64_t line = 0;  // 1-based line where the row starts (0 when not tied to a line)
    std::string reason;
};

struct RawRow {
    nlohmann::json value;  // a JSON object for every file type (TXT: {"text": line})
    int64_t line = 0;      // 1-based line where the row starts
};

struct RawDataset {
    std::string path;
    FileType type = FileType::Jsonl;
    std::vector<RawRow> rows;
    std::vector<Rejection> rejections;  // rows that could not even be parsed (bad JSON, bad CSV)
    int64_t rowsRead = 0;               // rows seen, accepted or not
};

// Picks the file type from the extension (.jsonl/.ndjson, .json, .csv, .tsv, .txt, .parquet, or the
// Parquet magic); an unknown
// extension is sniffed from the content. A .json file whose first value is an object on its own
// line (not an array) is read as JSONL.
FileType detectFileType(const std::string& path, const std::string& bytes);

// Checks that `bytes` are UTF-8 text: a UTF-16/UTF-32 byte-order mark, NUL bytes (binary file),
// archive/parquet magic numbers and invalid UTF-8 sequences throw PeftError naming the file,
// the byte offset and the line. A UTF-8 BOM is accepted (and stripped by readDatasetFile).
void checkTextEncoding(const std::string& path, const std::string& bytes);

// Reads and splits a dataset file into rows.
// TXT: one row per non-empty line ({"text": line}); lines holding only whitespace are skipped.
// CSV/TSV: RFC 4180 (quoted fields may hold the delimiter, doubled quotes and newlines); the first
// record is the header; every value is a string. A row with the wrong number of fields is rejected.
// JSON array: each element is a row; its line is where the element starts.
// With ErrorPolicy::Stop the first bad row throws PeftError "<file>:<line>: <reason>".
RawDataset readDatasetFile(const std::string& path, ErrorPolicy policy = ErrorPolicy::Skip);
// Same on bytes already in memory (`path` is used for messages and the type by extension).
RawDataset parseDatasetBytes(const std::string& path, std::string bytes, ErrorPolicy policy = ErrorPolicy::Skip,
                             std::optional<FileType> type = std::nullopt);

// RFC 4180 parser used for CSV/TSV: returns records with the line each starts on.
struct CsvRecord {
    std::vector<std::string> fields;
    int64_t line = 0;
    std::string error;  // non-empty when the record is malformed (e.g. unterminated quote)
};
std::vector<CsvRecord> parseCsv(const std::string& text, char delimiter);

}  // namespace peft::data
