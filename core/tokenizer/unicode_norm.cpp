// Unicode normalisation (UAX #15): full decomposition, canonical reordering and canonical
// composition, with Hangul handled algorithmically. Tables: unicode_tables.inc.
#include "core/tokenizer/unicode_norm.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "core/tokenizer/text_util.h"

namespace peft::tok {

namespace {
struct CccRange {
    uint32_t first, last;
    uint8_t ccc;
};
struct DecompEntry {
    uint32_t cp;
    uint32_t nfdOff, nfdLen, nfkdOff, nfkdLen;
};
struct ComposePair {
    uint32_t a, b, composite;
};
#include "core/tokenizer/unicode_tables.inc"

constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

int ccc(char32_t cp) {
    if (cp < 0x300) return 0;
    const auto* end = std::end(kCccRanges);
    const auto* it =
        std::upper_bound(std::begin(kCccRanges), end, cp, [](char32_t v, const CccRange& r) { return v < r.first; });
    if (it == std::begin(kCccRanges)) return 0;
    --it;
    return cp <= it->last ? it->ccc : 0;
}

void decompose(char32_t cp, bool compat, std::vector<char32_t>& out) {
    if (cp >= kSBase && cp < kSBase + kSCount) {
        char32_t s = cp - kSBase;
        out.push_back(kLBase + s / kNCount);
        out.push_back(kVBase + (s % kNCount) / kTCount);
        if (s % kTCount) out.push_back(kTBase + s % kTCount);
        return;
    }
    if (cp >= 0xA0) {
        const auto* end = std::end(kDecomp);
        const auto* it =
            std::lower_bound(std::begin(kDecomp), end, cp, [](const DecompEntry& e, char32_t v) { return e.cp < v; });
        if (it != end && it->cp == cp) {
            uint32_t off = compat ? it->nfkdOff : it->nfdOff, len = compat ? it->nfkdLen : it->nfdLen;
            out.insert(out.end(), kDecompData + off, kDecompData + off + len);
            return;
        }
    }
    out.push_back(cp);
}

const std::unordered_map<uint64_t, char32_t>& composeMap() {
    static const std::unordered_map<uint64_t, char32_t> m = [] {
        std::unordered_map<uint64_t, char32_t> r;
        for (const auto& p : kCompose) r[(static_cast<uint64_t>(p.a) << 32) | p.b] = p.composite;
        return r;
    }();
    return m;
}

bool composePair(char32_t a, char32_t b, char32_t& out) {
    if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
        out = kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
        return true;
    }
    if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase && b < kTBase + kTCount) {
        out = a + (b - kTBase);
        return true;
    }
    const auto& m = composeMap();
    auto it = m.find((static_cast<uint64_t>(a) << 32) | b);
    if (it == m.end()) return false;
    out = it->second;
    return true;
}
}  // namespace

const char* unicodeTablesVersion() { return kUnicodeVersion; }

std::string unicodeNormalize(const std::string& s, UnicodeForm form) {
    if (std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) return s;
    const bool compat = form == UnicodeForm::NFKC || form == UnicodeForm::NFKD;
    std::vector<char32_t> d;
    d.reserve(s.size());
    for (size_t i = 0; i < s.size();) decompose(nextCodePoint(s, i), compat, d);
    // Canonical ordering: stable sort of each run of non-starters by combining class.
    for (size_t i = 0; i < d.size();) {
        if (ccc(d[i]) == 0) {
            ++i;
            continue;
        }
        size_t j = i;
        while (j < d.size() && ccc(d[j]) != 0) ++j;
        if (j - i > 1)
            std::stable_sort(d.begin() + i, d.begin() + j, [](char32_t a, char32_t b) { return ccc(a) < ccc(b); });
        i = j;
    }
    if (form == UnicodeForm::NFC || form == UnicodeForm::NFKC) {
        std::vector<char32_t> out;
        out.reserve(d.size());
        long starter = -1;
        int lastCcc = -1;  // -1: nothing since the starter
        for (char32_t cp : d) {
            int cc = ccc(cp);
            if (starter >= 0 && (lastCcc == -1 || (lastCcc != 0 && lastCcc < cc))) {
                char32_t comp;
                if (composePair(out[static_cast<size_t>(starter)], cp, comp)) {
                    out[static_cast<size_t>(starter)] = comp;
                    continue;
                }
            }
            if (cc == 0) {
                starter = static_cast<long>(out.size());
                lastCcc = -1;
            } else {
                lastCcc = cc;
            }
            out.push_back(cp);
        }
        d.swap(out);
    }
    std::string r;
    r.reserve(s.size());
    for (char32_t cp : d) appendUtf8(r, cp);
    return r;
}

}  // namespace peft::tok
