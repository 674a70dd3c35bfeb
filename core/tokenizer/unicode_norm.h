// Unicode normalisation forms (NFC, NFKC, NFD, NFKD) from tables generated out of the Unicode
// Character Database (tools/gen_unicode_tables.py -> unicode_tables.inc).
#pragma once
#include <string>

namespace peft::tok {

enum class UnicodeForm { NFC, NFKC, NFD, NFKD };

// `s` must be valid UTF-8. ASCII text is returned unchanged without table lookups.
std::string unicodeNormalize(const std::string& s, UnicodeForm form);
// The Unicode version the tables were generated from.
const char* unicodeTablesVersion();

}  // namespace peft::tok
