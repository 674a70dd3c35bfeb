// Text helpers the metrics share: Python's str.split() on Unicode whitespace, code-point
// strings, and UTF-8 that a model produced (possibly cut mid-character) made well-formed.
#pragma once
#include <string>
#include <vector>

namespace peft::eval {

// Python's str.isspace() for one code point (what str.split() and str.strip() use).
bool pyIsSpace(char32_t cp);
// Python's str.split() with no argument: runs of Unicode whitespace separate, no empty parts.
std::vector<std::string> pySplit(const std::string& s);
// Python's str.rstrip() with no argument.
std::string pyRstrip(const std::string& s);
// Code points of s after replacing ill-formed UTF-8 by U+FFFD (as Python's errors="replace").
std::u32string codePoints(const std::string& s);
std::string toUtf8(const std::u32string& s);
// Python's str.lower() for the scripts answers are mostly written in: ASCII, Latin-1, Latin
// Extended-A, Greek and Cyrillic (others are returned unchanged; U+0130 maps to "i" + U+0307).
std::u32string pyLower(const std::u32string& s);

}  // namespace peft::eval
