// UTF-8 helpers, GPT-2's byte map and the bounded PCRE2 wrapper (see text_util.h).
#include "core/tokenizer/text_util.h"

#include <pcre2.h>

#include <cctype>

#include "core/util/error.h"

namespace peft::tok {

size_t utf8SeqLen(unsigned char b) {
    if (b < 0x80) return 1;
    if ((b & 0xE0) == 0xC0) return 2;
    if ((b & 0xF0) == 0xE0) return 3;
    if ((b & 0xF8) == 0xF0) return 4;
    return 1;
}

char32_t nextCodePoint(const std::string& s, size_t& i) {
    auto b = static_cast<unsigned char>(s[i]);
    size_t n = utf8SeqLen(b);
    if (i + n > s.size()) n = 1;
    char32_t cp;
    if (n == 1) {
        cp = b;
    } else {
        cp = b & (0xFF >> (n + 1));
        for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    }
    i += n;
    return cp;
}

void appendUtf8(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

std::vector<char32_t> toCodePoints(const std::string& s) {
    std::vector<char32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) out.push_back(nextCodePoint(s, i));
    return out;
}

namespace {
// Length of the valid UTF-8 sequence at s[i], or 0 with `bad` = length of the maximal
// ill-formed prefix (at least 1).
size_t validSeqAt(const std::string& s, size_t i, size_t& bad) {
    auto at = [&](size_t k) -> int { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : -1; };
    int b = at(0);
    if (b < 0x80) return 1;
    int lo = 0x80, hi = 0xBF;
    size_t n;
    if (b >= 0xC2 && b <= 0xDF) {
        n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
        n = 3;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
        n = 4;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        bad = 1;
        return 0;
    }
    for (size_t k = 1; k < n; ++k) {
        int c = at(k);
        int l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
        if (c < l || c > h) {
            bad = k;
            return 0;
        }
    }
    return n;
}
}  // namespace

bool isValidUtf8(const std::string& s, size_t* badOffset) {
    for (size_t i = 0; i < s.size();) {
        size_t bad = 0;
        size_t n = validSeqAt(s, i, bad);
        if (n == 0) {
            if (badOffset) *badOffset = i;
            return false;
        }
        i += n;
    }
    return true;
}

std::string utf8Lossy(const std::string& bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
        size_t bad = 0;
        size_t n = validSeqAt(bytes, i, bad);
        if (n) {
            out.append(bytes, i, n);
            i += n;
        } else {
            out += "\xEF\xBF\xBD";
            i += bad;
        }
    }
    return out;
}

namespace {
struct ByteMap {
    std::vector<std::string> toChar;
    std::vector<int> fromCp;  // indexed by code point < 512
    ByteMap() : toChar(256), fromCp(512, -1) {
        auto printable = [](int b) {
            return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        };
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            char32_t cp = printable(b) ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + extra++);
            appendUtf8(toChar[b], cp);
            fromCp[cp] = b;
        }
    }
};
const ByteMap& byteMap() {
    static const ByteMap m;
    return m;
}
}  // namespace

const std::vector<std::string>& byteToUnicode() { return byteMap().toChar; }

int unicodeToByte(char32_t cp) { return cp < 512 ? byteMap().fromCp[cp] : -1; }

std::string replaceAll(const std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return s;
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (true) {
        size_t f = s.find(from, pos);
        if (f == std::string::npos) break;
        out.append(s, pos, f - pos);
        out += to;
        pos = f + from.size();
    }
    out.append(s, pos, std::string::npos);
    return out;
}

// ---- Regex ----------------------------------------------------------------------------------

namespace {
constexpr uint32_t kMatchLimit = 5'000'000;
constexpr uint32_t kDepthLimit = 100'000;
constexpr uint32_t kHeapLimitKiB = 256 * 1024;

pcre2_jit_stack* threadJitStack(void*) {
    struct Holder {
        pcre2_jit_stack* stack = pcre2_jit_stack_create(64 * 1024, 8 * 1024 * 1024, nullptr);
        ~Holder() {
            if (stack) pcre2_jit_stack_free(stack);
        }
    };
    thread_local Holder h;
    return h.stack;
}

std::string pcreMessage(int code) {
    PCRE2_UCHAR buf[256];
    int n = pcre2_get_error_message(code, buf, sizeof(buf));
    return n > 0 ? std::string(reinterpret_cast<char*>(buf), static_cast<size_t>(n))
                 : "PCRE2 error " + std::to_string(code);
}

struct MatchData {
    pcre2_match_data* md;
    explicit MatchData(pcre2_code* c) : md(pcre2_match_data_create_from_pattern(c, nullptr)) {}
    ~MatchData() { pcre2_match_data_free(md); }
};
}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : m_pattern(pattern), m_where(where) {
    int err = 0;
    PCRE2_SIZE errOff = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                     PCRE2_UTF | PCRE2_UCP | PCRE2_MULTILINE, &err, &errOff, nullptr);
    if (!code)
        fail(where,
             "cannot compile regex '" + pattern + "' at offset " + std::to_string(errOff) + ": " + pcreMessage(err),
             "Check the pattern in the tokenizer file");
    m_code = code;
    m_jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
    pcre2_match_context* ctx = pcre2_match_context_create(nullptr);
    pcre2_set_match_limit(ctx, kMatchLimit);
    pcre2_set_depth_limit(ctx, kDepthLimit);
    pcre2_set_heap_limit(ctx, kHeapLimitKiB);
    if (m_jit) pcre2_jit_stack_assign(ctx, threadJitStack, nullptr);
    m_context = ctx;
}

Regex::~Regex() {
    pcre2_match_context_free(static_cast<pcre2_match_context*>(m_context));
    pcre2_code_free(static_cast<pcre2_code*>(m_code));
}

bool Regex::matchAt(const std::string& s, size_t start, size_t& mStart, size_t& mEnd) const {
    auto* code = static_cast<pcre2_code*>(m_code);
    thread_local std::vector<std::pair<const void*, std::unique_ptr<MatchData>>> cache;
    MatchData* md = nullptr;
    for (auto& e : cache)
        if (e.first == code) md = e.second.get();
    if (!md) {
        if (cache.size() > 64) cache.clear();
        cache.emplace_back(code, std::make_unique<MatchData>(code));
        md = cache.back().second.get();
    }
    int rc = pcre2_match(code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), start, PCRE2_NO_UTF_CHECK, md->md,
                         static_cast<pcre2_match_context*>(m_context));
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) {
        std::string what =
            "regex '" + m_pattern + "' failed on a text of " + std::to_string(s.size()) + " bytes: " + pcreMessage(rc);
        if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT || rc == PCRE2_ERROR_HEAPLIMIT ||
            rc == PCRE2_ERROR_JIT_STACKLIMIT)
            fail(m_where, what + " (the pattern backtracks catastrophically; matching was stopped)",
                 "Use a tokenizer with a bounded pattern, or shorten the text");
        fail(m_where, what);
    }
    PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md->md);
    mStart = ov[0];
    mEnd = ov[1];
    return true;
}

std::vector<std::pair<size_t, size_t>> Regex::findAll(const std::string& s) const {
    std::vector<std::pair<size_t, size_t>> out;
    size_t pos = 0;
    bool haveLast = false;
    size_t lastEnd = 0;
    while (pos <= s.size()) {
        size_t a, b;
        if (!matchAt(s, pos, a, b)) break;
        // An empty match right where the previous match ended is not reported (no loops).
        if (!(a == b && haveLast && lastEnd == b)) {
            out.emplace_back(a, b);
            haveLast = true;
            lastEnd = b;
        }
        if (b > a) {
            pos = b;
        } else {
            if (b >= s.size()) break;
            pos = b + utf8SeqLen(static_cast<unsigned char>(s[b]));
        }
    }
    return out;
}

bool Regex::search(const std::string& s) const {
    size_t a, b;
    return matchAt(s, 0, a, b);
}

std::string Regex::escape(const std::string& literal) {
    std::string out;
    for (char c : literal) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x80 && !std::isalnum(u)) out += '\\';
        out += c;
    }
    return out;
}

std::vector<std::pair<std::pair<size_t, size_t>, bool>> findMatches(const Regex& re, const std::string& s) {
    std::vector<std::pair<std::pair<size_t, size_t>, bool>> out;
    if (s.empty()) {
        out.push_back({{0, 0}, false});
        return out;
    }
    size_t prev = 0;
    for (auto [a, b] : re.findAll(s)) {
        if (prev != a) out.push_back({{prev, a}, false});
        out.push_back({{a, b}, true});
        prev = b;
    }
    if (prev != s.size()) out.push_back({{prev, s.size()}, false});
    return out;
}

}  // namespace peft::tok
