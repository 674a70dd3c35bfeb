// A Parquet reader limited to what Hugging Face Hub datasets use: the footer (Thrift compact
// protocol), PLAIN / RLE_DICTIONARY (PLAIN_DICTIONARY) values, RLE / bit-packed levels, data pages
// v1 and v2, uncompressed / snappy / gzip / zstd pages, strings, numbers, booleans and nested
// groups and lists (list<struct<role, content>> chat messages). Each row becomes a JSON object.
// No torch; no Arrow (Debian 12 packages none).
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace peft::data {

// True when `bytes` open and close with the Parquet magic "PAR1".
bool looksLikeParquet(const std::string& bytes);

// Every row of the file, in order, as {column: value}. LIST columns become arrays, groups become
// objects, nulls are null; binary columns that are not UTF-8 text become null. Throws PeftError
// naming the file, the column and what is unsupported or corrupt (e.g. an encoding, a codec).
std::vector<nlohmann::json> readParquet(const std::string& path, const std::string& bytes);

// The compression codecs this build can read ("snappy", "gzip", "zstd").
std::vector<std::string> parquetCodecs();

}  // namespace peft::data
