// Dataset row formats (text, instruction, chat, classification, tokens): detection from the
// columns, column mapping, and parsing of one raw row into a typed Example.
#pragma once
#include <nlohmann/json.hpp>

#include <cstdint>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/data/chat_template.h"
#include "core/data/dataset_file.h"

namespace peft::data {

// The label of a position that takes no loss (transformers' ignore_index).
constexpr int64_t kIgnoreIndex = -100;

enum class DataFormat { Text, Instruction, Chat, Classification, Tokens, Preference };
std::string formatName(DataFormat f);
std::optional<DataFormat> formatFromName(const std::string& name);  // nullopt for "auto" / unknown

// Canonical field -> the user's column name. Canonical fields: text, instruction, input, output,
// messages, conversations, label, input_ids, labels, and for preference pairs prompt, chosen,
// rejected, prompt_ids, chosen_ids, rejected_ids.
using ColumnMapping = std::map<std::string, std::string>;
const std::vector<std::string>& canonicalFields();

// Renames the user's columns to the canonical names (a copy of the row). A mapped column that is
// absent is left absent (parseExample then reports the missing field under both names).
nlohmann::json applyColumnMapping(const nlohmann::json& row, const ColumnMapping& mapping);

// Detects the format from the (mapped) keys of the first rows:
//   input_ids -> tokens; messages or conversations -> chat; instruction + output -> instruction;
//   text + label -> classification; text -> text; chosen + rejected (or chosen_ids + rejected_ids)
//   -> preference.
// The format most rows agree on wins. Throws PeftError naming the file and the keys it found
// when no rule matches.
DataFormat detectFormat(const RawDataset& ds, const ColumnMapping& mapping);

struct Example {
    DataFormat format = DataFormat::Text;
    int64_t line = 0;
    std::string text;                        // text, classification
    std::string instruction, input, output;  // instruction
    std::vector<ChatMessage> messages;       // chat (roles already mapped to system/user/assistant)
    std::optional<int64_t> labelInt;         // classification: an integer label
    std::string labelString;                 // classification: a string label
    std::vector<int64_t> inputIds, labels;   // tokens (labels empty when not given)
    // preference: the shared prompt (history up to the answer) and the two answers, each a list of
    // assistant messages; or, pre-tokenised, promptIds + chosenIds / rejectedIds.
    std::vector<ChatMessage> prompt, chosen, rejected;
    std::vector<int64_t> promptIds, chosenIds, rejectedIds;
    bool preferenceTokens = false;
};

// Parses one row in the given format; throws RowError with the reason on a bad row.
struct RowError : std::runtime_error {
    using std::runtime_error::runtime_error;
};
Example parseExample(const nlohmann::json& mappedRow, DataFormat f, int64_t line);

}  // namespace peft::data
