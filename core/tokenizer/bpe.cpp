// BPE model: merges applied lowest rank first (leftmost on ties) through a priority queue,
// exactly as HF tokenizers' Word::merge_all; results cached per word.
#include "core/tokenizer/bpe.h"

#include <cstdio>
#include <mutex>
#include <queue>

#include "core/tokenizer/components.h"
#include "core/tokenizer/text_util.h"
#include "core/util/error.h"

namespace peft::tok {

using nlohmann::json;

namespace {
constexpr size_t kCacheCapacity = 200'000;
constexpr size_t kCacheMaxWordBytes = 256;

std::optional<std::string> optString(const json& j, const std::string& key, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string()) fail(where + "." + key, "expected a string or null, found " + j[key].dump());
    return j[key].get<std::string>();
}

bool optBool(const json& j, const std::string& key, const std::string& where) {
    if (!j.contains(key) || j[key].is_null()) return false;
    if (!j[key].is_boolean()) fail(where + "." + key, "expected true or false, found " + j[key].dump());
    return j[key].get<bool>();
}
}  // namespace

BpeModel::BpeModel(const json& j, const std::string& where) {
    if (j.contains("dropout") && !j["dropout"].is_null())
        fail(where + ".dropout", "BPE dropout " + j["dropout"].dump() + " is not supported (it makes encoding random)",
             "Set \"dropout\": null in tokenizer.json");
    const json& vocab = member(j, "vocab", where);
    if (!vocab.is_object()) fail(where + ".vocab", "expected an object mapping tokens to ids");
    m_vocab.reserve(vocab.size());
    for (auto it = vocab.begin(); it != vocab.end(); ++it) {
        if (!it.value().is_number_integer()) fail(where + ".vocab", "token '" + it.key() + "' has a non-integer id");
        int64_t id = it.value().get<int64_t>();
        m_vocab[it.key()] = id;
        m_idToToken[id] = it.key();
    }
    m_unk = optString(j, "unk_token", where);
    m_prefix = optString(j, "continuing_subword_prefix", where).value_or("");
    m_suffix = optString(j, "end_of_word_suffix", where).value_or("");
    m_fuseUnk = optBool(j, "fuse_unk", where);
    m_byteFallback = optBool(j, "byte_fallback", where);
    m_ignoreMerges = optBool(j, "ignore_merges", where);
    m_byteIds.assign(256, -1);
    for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        auto it = m_vocab.find(name);
        if (it != m_vocab.end()) m_byteIds[b] = it->second;
    }

    const json& merges = member(j, "merges", where);
    if (!merges.is_array()) fail(where + ".merges", "expected a list of merges");
    m_merges.reserve(merges.size());
    for (size_t r = 0; r < merges.size(); ++r) {
        const json& m = merges[r];
        const std::string w = where + ".merges[" + std::to_string(r) + "]";
        std::string a, b;
        if (m.is_string()) {
            std::string s = m.get<std::string>();
            size_t sp = s.find(' ');
            if (sp == std::string::npos || s.find(' ', sp + 1) != std::string::npos)
                fail(w, "merge '" + s + "' is not two tokens separated by one space");
            a = s.substr(0, sp);
            b = s.substr(sp + 1);
        } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
            a = m[0].get<std::string>();
            b = m[1].get<std::string>();
        } else {
            fail(w, "expected \"a b\" or [\"a\", \"b\"], found " + m.dump());
        }
        std::string merged =
            a + (!m_prefix.empty() && b.compare(0, m_prefix.size(), m_prefix) == 0 ? b.substr(m_prefix.size()) : b);
        auto ia = m_vocab.find(a), ib = m_vocab.find(b), im = m_vocab.find(merged);
        if (ia == m_vocab.end() || ib == m_vocab.end() || im == m_vocab.end())
            fail(w, "merge '" + a + " " + b + "' uses a token missing from the vocabulary",
                 "The tokenizer.json is inconsistent; re-save it with transformers");
        uint64_t key =
            (static_cast<uint64_t>(static_cast<uint32_t>(ia->second)) << 32) | static_cast<uint32_t>(ib->second);
        m_merges[key] =
            std::make_pair(static_cast<int32_t>(r), im->second);  // a repeated merge keeps its last rank, as HF
    }
    if (m_unk && !m_vocab.count(*m_unk))
        fail(where + ".unk_token", "unk token '" + *m_unk + "' is not in the vocabulary");
}

std::optional<int64_t> BpeModel::tokenToId(const std::string& token) const {
    auto it = m_vocab.find(token);
    if (it == m_vocab.end()) return std::nullopt;
    return it->second;
}

const std::string* BpeModel::idToToken(int64_t id) const {
    auto it = m_idToToken.find(id);
    return it == m_idToToken.end() ? nullptr : &it->second;
}

std::vector<int64_t> BpeModel::mergeWord(const std::string& w) const {
    struct Sym {
        int64_t id;
        long prev, next;
        bool alive;
    };
    std::vector<Sym> syms;
    syms.reserve(w.size());
    auto add = [&](int64_t id) {
        long n = static_cast<long>(syms.size());
        syms.push_back(Sym{id, n - 1, -1, true});
        if (n > 0) syms[static_cast<size_t>(n - 1)].next = n;
    };
    std::optional<int64_t> pendingUnk;
    for (size_t i = 0; i < w.size();) {
        size_t start = i;
        nextCodePoint(w, i);
        std::string s = w.substr(start, i - start);
        if (start != 0 && !m_prefix.empty()) s = m_prefix + s;
        if (i >= w.size() && !m_suffix.empty()) s += m_suffix;
        auto it = m_vocab.find(s);
        if (it != m_vocab.end()) {
            if (pendingUnk) {
                add(*pendingUnk);
                pendingUnk.reset();
            }
            add(it->second);
            continue;
        }
        if (m_byteFallback) {
            bool all = true;
            for (char c : s) all = all && m_byteIds[static_cast<unsigned char>(c)] >= 0;
            if (all) {
                for (char c : s) add(m_byteIds[static_cast<unsigned char>(c)]);
                continue;
            }
        }
        if (m_unk) {
            int64_t unkId = m_vocab.at(*m_unk);
            if (pendingUnk && !m_fuseUnk) add(*pendingUnk);
            pendingUnk = unkId;
        }
        // Without an unk token the character is dropped, as HF tokenizers does.
    }
    if (pendingUnk) add(*pendingUnk);

    struct Cand {
        int32_t rank;
        long pos;
        int64_t newId;
        bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
    };
    auto lookup = [&](int64_t a, int64_t b) -> const std::pair<int32_t, int64_t>* {
        auto it = m_merges.find((static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b));
        return it == m_merges.end() ? nullptr : &it->second;
    };
    std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> queue;
    for (size_t k = 0; k + 1 < syms.size(); ++k)
        if (auto m = lookup(syms[k].id, syms[k + 1].id)) queue.push(Cand{m->first, static_cast<long>(k), m->second});
    while (!queue.empty()) {
        Cand top = queue.top();
        queue.pop();
        Sym& left = syms[static_cast<size_t>(top.pos)];
        if (!left.alive || left.next < 0) continue;
        Sym& right = syms[static_cast<size_t>(left.next)];
        auto m = lookup(left.id, right.id);
        if (!m || m->second != top.newId) continue;
        left.id = top.newId;
        right.alive = false;
        left.next = right.next;
        if (left.next >= 0) syms[static_cast<size_t>(left.next)].prev = top.pos;
        if (left.prev >= 0) {
            if (auto pm = lookup(syms[static_cast<size_t>(left.prev)].id, left.id))
                queue.push(Cand{pm->first, left.prev, pm->second});
        }
        if (left.next >= 0) {
            if (auto nm = lookup(left.id, syms[static_cast<size_t>(left.next)].id))
                queue.push(Cand{nm->first, top.pos, nm->second});
        }
    }
    std::vector<int64_t> ids;
    for (const auto& s : syms)
        if (s.alive) ids.push_back(s.id);
    return ids;
}

void BpeModel::tokenize(const std::string& word, std::vector<int64_t>& out) const {
    if (word.empty()) return;
    if (m_ignoreMerges) {
        auto it = m_vocab.find(word);
        if (it != m_vocab.end()) {
            out.push_back(it->second);
            return;
        }
    }
    const bool cacheable = word.size() <= kCacheMaxWordBytes;
    if (cacheable) {
        std::shared_lock lock(m_cacheMutex);
        auto it = m_cache.find(word);
        if (it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    std::vector<int64_t> ids = mergeWord(word);
    out.insert(out.end(), ids.begin(), ids.end());
    if (cacheable) {
        std::unique_lock lock(m_cacheMutex);
        if (m_cache.size() < kCacheCapacity) m_cache.emplace(word, std::move(ids));
    }
}

}  // namespace peft::tok
