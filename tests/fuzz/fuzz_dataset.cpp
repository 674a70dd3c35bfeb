// libFuzzer target: dataset bytes as JSONL, JSON, CSV, TSV and TXT, then format detection and
// example parsing of every row. The first input byte picks the file type.
#include <cstdint>

#include "core/data/dataset_file.h"
#include "core/data/dataset_format.h"
#include "core/util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    static const char* kNames[] = {"d.jsonl", "d.json", "d.csv", "d.tsv", "d.txt", "d.dat"};
    std::string name = kNames[data[0] % 6];
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    try {
        peft::data::checkTextEncoding(name, bytes);
        auto ds = peft::data::parseDatasetBytes(name, bytes, peft::data::ErrorPolicy::Skip);
        peft::data::ColumnMapping mapping;
        auto fmt = peft::data::detectFormat(ds, mapping);
        for (const auto& row : ds.rows) {
            try {
                (void)peft::data::parseExample(peft::data::applyColumnMapping(row.value, mapping), fmt, row.line);
            } catch (const peft::PeftError&) {
            }
        }
    } catch (const peft::PeftError&) {
    }
    try {
        (void)peft::data::parseCsv(bytes, ',');
    } catch (const peft::PeftError&) {
    }
    return 0;
}
