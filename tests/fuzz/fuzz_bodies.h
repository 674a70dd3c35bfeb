// The body of each fuzz target, shared by the libFuzzer binaries (tests/fuzz/fuzz_<name>.cpp) and
// the regression test that replays the seed corpus and every crash input (test_fuzz_regressions).
// Bad input must end in PeftError, which each body swallows (swallowPeftError); any other
// exception, crash or sanitizer report is a finding.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "core/util/error.h"
#include "tests/fuzz/fuzz_common.h"

#ifdef PEFT_FUZZ_SAFETENSORS
#include "core/io/safetensors.h"
#endif
#ifdef PEFT_FUZZ_MODEL_CONFIG
#include "core/io/model_config.h"
#endif
#ifdef PEFT_FUZZ_TOKENIZER
#include "core/tokenizer/tokenizer.h"
#endif
#ifdef PEFT_FUZZ_ADAPTER_CONFIG
#include "core/io/model_config.h"
#include "core/peft/method_spec.h"
#endif
#ifdef PEFT_FUZZ_DATASET
#include "core/data/dataset_file.h"
#include "core/data/dataset_format.h"
#endif
#ifdef PEFT_FUZZ_RUN_CONFIG
#include "core/train/run_config.h"
#endif
#ifdef PEFT_FUZZ_EVAL
#include "core/eval/eval_dataset.h"
#include "core/eval/eval_report.h"
#include "core/eval/text_metric.h"
#endif
#ifdef PEFT_FUZZ_PARQUET
#include "core/data/parquet_reader.h"
#endif

namespace peft::fuzz {

#ifdef PEFT_FUZZ_SAFETENSORS
// A safetensors file (header and data) through File::open and readHeader.
inline void safetensorsBody(const uint8_t* data, size_t size) {
    std::string path = writeScratch("model.safetensors", data, size);
    swallowPeftError([&] {
        auto f = peft::st::File::open(path);
        // Touch every byte of every tensor: offsets were validated, so this must stay in bounds.
        uint64_t sum = 0;
        for (const auto& t : f->tensors()) {
            const uint8_t* p = f->data(t);
            for (uint64_t i = 0; i < t.nbytes(); ++i) sum += p[i];
            (void)t.numel();
        }
        (void)sum;
    });
    swallowPeftError([&] {
        std::map<std::string, std::string> meta;
        (void)peft::st::readHeader(path, &meta);
    });
}
#endif

#ifdef PEFT_FUZZ_MODEL_CONFIG
// config.json through readJsonFile and ModelConfig::fromJson.
inline void modelConfigBody(const uint8_t* data, size_t size) {
    std::string path = writeScratch("config.json", data, size);
    swallowPeftError([&] {
        auto j = peft::readJsonFile(path);
        (void)peft::ModelConfig::fromJson(j, path);
    });
}
#endif

#ifdef PEFT_FUZZ_TOKENIZER
// tokenizer.json through Tokenizer::load, then encode/decode of a fixed text.
inline void tokenizerBody(const uint8_t* data, size_t size) {
    std::string path = writeScratch("tokenizer.json", data, size);
    swallowPeftError([&] {
        auto tok = peft::Tokenizer::load(path);
        auto ids = tok->encode("Hello world! 123  <s></s> caf\xc3\xa9 \xe4\xbd\xa0\xe5\xa5\xbd\n\tx  abc", true);
        (void)tok->decode(ids, false);
        (void)tok->decode(ids, true);
        (void)tok->decode({0, 1, 2, -1, int64_t{1} << 30}, false);
    });
}
#endif

#ifdef PEFT_FUZZ_ADAPTER_CONFIG
// adapter_config.json through the method specs (validate, count, saved tensors, footprint, file
// size) against a small fixed Llama config.
inline void adapterConfigBody(const uint8_t* data, size_t size) {
    static const peft::ModelConfig mc =
        peft::ModelConfig::fromJson(nlohmann::json::parse(R"({"model_type":"llama","architectures":["LlamaForCausalLM"],
            "hidden_size":16,"intermediate_size":32,"num_hidden_layers":2,"num_attention_heads":4,
            "num_key_value_heads":2,"vocab_size":64,"max_position_embeddings":128,
            "rms_norm_eps":1e-6,"tie_word_embeddings":false})"),
                                    "config.json");
    auto j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return;
    swallowPeftError([&] {
        const auto& spec = peft::methodSpec(peft::peftTypeOf(j, "adapter_config.json"));
        spec.validate(j, "adapter_config.json");
        (void)spec.count(mc, j).percent();
        (void)spec.savedTensors(mc, j);
        (void)spec.footprint(mc, j);
        (void)spec.adapterBytes(mc, j, 2);
        (void)spec.withDefaults(j);
    });
}
#endif

#ifdef PEFT_FUZZ_DATASET
// Dataset bytes as JSONL, JSON, CSV, TSV, TXT or sniffed (the first byte picks), then format
// detection and example parsing of every row.
inline void datasetBody(const uint8_t* data, size_t size) {
    if (size == 0) return;
    static const char* kNames[] = {"d.jsonl", "d.json", "d.csv", "d.tsv", "d.txt", "d.dat"};
    std::string name = kNames[data[0] % 6];
    std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
    swallowPeftError([&] {
        peft::data::checkTextEncoding(name, bytes);
        auto ds = peft::data::parseDatasetBytes(name, bytes, peft::data::ErrorPolicy::Skip);
        peft::data::ColumnMapping mapping;
        auto fmt = peft::data::detectFormat(ds, mapping);
        for (const auto& row : ds.rows) {
            try {
                auto ex = peft::data::parseExample(peft::data::applyColumnMapping(row.value, mapping), fmt, row.line);
                // Preference pairs: the prompt and each answer as prepare renders them.
                if (fmt == peft::data::DataFormat::Preference && !ex.preferenceTokens)
                    for (const auto* answer : {&ex.chosen, &ex.rejected}) {
                        auto msgs = ex.prompt;
                        msgs.insert(msgs.end(), answer->begin(), answer->end());
                        auto k = static_cast<peft::data::TemplateKind>(row.line % 6);
                        (void)peft::data::renderChat(k, msgs, false, peft::data::defaultTemplateTokens(k));
                    }
            } catch (const peft::data::RowError&) {
                // parseExample's documented way to reject a row (prepare.cpp reports it with its line)
            } catch (const peft::PeftError&) {
            }
        }
    });
    swallowPeftError([&] { (void)peft::data::parseCsv(bytes, ','); });
}
#endif

#ifdef PEFT_FUZZ_PARQUET
// A Parquet file through readParquet (footer, schema, pages, codecs, levels, record assembly);
// every row is serialised, which also proves the strings are valid UTF-8.
inline void parquetBody(const uint8_t* data, size_t size) {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    swallowPeftError([&] {
        for (const auto& row : peft::data::readParquet("f.parquet", bytes)) (void)row.dump();
    });
}
#endif

#ifdef PEFT_FUZZ_RUN_CONFIG
// A run config (run.json) through RunConfig::fromJson and a round trip through toJson.
inline void runConfigBody(const uint8_t* data, size_t size) {
    auto j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded()) return;
    swallowPeftError([&] {
        auto rc = peft::RunConfig::fromJson(j, "run.json");
        (void)peft::RunConfig::fromJson(rc.toJson(), "run.json (round trip)");
    });
}
#endif

#ifdef PEFT_FUZZ_EVAL
// Evaluation inputs. The first byte picks: 'r' an evaluation report (EvalReport::fromJson and a
// round trip), 'c' a multiple-choice JSONL file (loadChoiceSet, with one few-shot row), anything
// else two texts split at the first NUL byte, scored by every metric in both directions (model
// answers may be any bytes: ill-formed UTF-8 included).
inline void evalBody(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const std::string rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    swallowPeftError([&] {
        if (data[0] == 'r') {
            auto j = nlohmann::json::parse(rest, nullptr, false);
            if (j.is_discarded()) return;
            auto r = peft::eval::EvalReport::fromJson(j, "report.json");
            (void)peft::eval::EvalReport::fromJson(r.toJson(), "report.json (round trip)");
            (void)r.toCsv();
        } else if (data[0] == 'c') {
            const std::string path =
                writeScratch("choices.jsonl", reinterpret_cast<const uint8_t*>(rest.data()), rest.size());
            auto set = peft::eval::loadChoiceSet(path, 1);
            for (const auto& it : set.items)
                if (it.answer < 0 || it.answer >= static_cast<int64_t>(it.choices.size())) __builtin_trap();
        } else {
            const size_t nul = rest.find('\0');
            const std::string a = rest.substr(0, nul),
                              b = nul == std::string::npos ? std::string() : rest.substr(nul + 1);
            for (const auto& name : peft::eval::metricNames()) {
                auto m = peft::eval::makeMetric(name);
                (void)m->score(a, {b});
                (void)m->score(b, {a, b});
                (void)m->corpusScore({a, b}, {{b}, {a}});
            }
        }
    });
}
#endif

}  // namespace peft::fuzz
