// Decoders of tokenizer.json: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence,
// each as HF's decode_chain (tokens in, tokens out).
#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/util/error.h"

namespace peft::tok {

using nlohmann::json;

namespace {

const char* const kReplacementChar = "\xEF\xBF\xBD";

class ByteLevelDec : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override {
        std::string bytes;
        for (const auto& t : tokens) {
            std::string tb;
            bool ok = true;
            for (size_t i = 0; i < t.size();) {
                int b = unicodeToByte(nextCodePoint(t, i));
                if (b < 0) {
                    ok = false;
                    break;
                }
                tb += static_cast<char>(b);
            }
            bytes += ok ? tb : t;  // a token with an unmapped char passes through as its own bytes
        }
        tokens.assign(1, utf8Lossy(bytes));
    }
};

class MetaspaceDec : public Decoder {
public:
    MetaspaceDec(std::string rep, bool prependFirst) : m_rep(std::move(rep)), m_prepend(prependFirst) {}
    void decodeChain(std::vector<std::string>& tokens) const override {
        for (size_t i = 0; i < tokens.size(); ++i)
            tokens[i] = replaceAll(tokens[i], m_rep, i == 0 && m_prepend ? "" : " ");
    }

private:
    std::string m_rep;
    bool m_prepend;
};

class ReplaceDec : public Decoder {
public:
    ReplaceDec(const json& j, const std::string& where) : m_replace(j, where) {}
    void decodeChain(std::vector<std::string>& tokens) const override {
        for (auto& t : tokens) m_replace.apply(t);
    }

private:
    ReplacePattern m_replace;
};

class ByteFallbackDec : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override {
        std::vector<std::string> out;
        out.reserve(tokens.size());
        std::string pending;
        auto flush = [&] {
            if (pending.empty()) return;
            if (isValidUtf8(pending)) out.push_back(pending);
            else
                for (size_t k = 0; k < pending.size(); ++k) out.push_back(kReplacementChar);
            pending.clear();
        };
        for (auto& t : tokens) {
            int byte = -1;
            if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') byte = hexByte(t[3], t[4]);
            if (byte >= 0) {
                pending += static_cast<char>(byte);
            } else {
                flush();
                out.push_back(std::move(t));
            }
        }
        flush();
        tokens.swap(out);
    }

private:
    static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
    static int hexByte(char a, char b) {
        int h = hexDigit(a), l = hexDigit(b);
        return h < 0 || l < 0 ? -1 : h * 16 + l;
    }
};

class FuseDec : public Decoder {
public:
    void decodeChain(std::vector<std::string>& tokens) const override {
        std::string all;
        for (const auto& t : tokens) all += t;
        tokens.assign(1, all);
    }
};

class StripDec : public Decoder {
public:
    StripDec(std::string content, size_t start, size_t stop)
        : m_content(std::move(content)), m_start(start), m_stop(stop) {}
    void decodeChain(std::vector<std::string>& tokens) const override {
        const size_t n = m_content.size();
        for (auto& t : tokens) {
            size_t a = 0;
            for (size_t k = 0; k < m_start && a + n <= t.size() && t.compare(a, n, m_content) == 0; ++k) a += n;
            size_t b = t.size();
            for (size_t k = 0; k < m_stop && b >= a + n && t.compare(b - n, n, m_content) == 0; ++k) b -= n;
            t = t.substr(a, b - a);
        }
    }

private:
    std::string m_content;
    size_t m_start, m_stop;
};

class SequenceDec : public Decoder {
public:
    std::vector<std::unique_ptr<Decoder>> m_steps;
    void decodeChain(std::vector<std::string>& tokens) const override {
        for (const auto& s : m_steps) s->decodeChain(tokens);
    }
};

size_t countMember(const json& j, const std::string& key, const std::string& where) {
    const json& v = member(j, key, where);
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
        fail(where + "." + key, "expected a non-negative integer, found " + v.dump());
    return v.get<size_t>();
}

}  // namespace

std::unique_ptr<Decoder> makeDecoder(const json& j, const std::string& where) {
    const std::string type = typeOf(j, where);
    if (type == "ByteLevel") return std::make_unique<ByteLevelDec>();
    if (type == "Metaspace") {
        std::string rep = singleChar(j, "replacement", where);
        bool prepend = true;
        if (j.contains("prepend_scheme") && j["prepend_scheme"].is_string())
            prepend = j["prepend_scheme"].get<std::string>() != "never";
        else if (j.contains("add_prefix_space") && j["add_prefix_space"].is_boolean())
            prepend = j["add_prefix_space"].get<bool>();
        return std::make_unique<MetaspaceDec>(rep, prepend);
    }
    if (type == "Replace") return std::make_unique<ReplaceDec>(j, where);
    if (type == "ByteFallback") return std::make_unique<ByteFallbackDec>();
    if (type == "Fuse") return std::make_unique<FuseDec>();
    if (type == "Strip")
        return std::make_unique<StripDec>(singleChar(j, "content", where), countMember(j, "start", where),
                                          countMember(j, "stop", where));
    if (type == "Sequence") return makeSequence<SequenceDec, Decoder>(j, "decoders", where, makeDecoder);
    fail(where, "unsupported decoder type '" + type + "'",
         "Supported decoders: ByteLevel, Metaspace, Replace, ByteFallback, Fuse, Strip, Sequence");
}

}  // namespace peft::tok
