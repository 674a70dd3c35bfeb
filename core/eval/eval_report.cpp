// EvalReport <-> JSON, CSV, and the statistics aggregates use.
#include "core/eval/eval_report.h"

#include <cmath>

#include "core/util/atomic_file.h"
#include "core/util/error.h"

namespace peft::eval {

double mean(const std::vector<double>& v) {
    if (v.empty()) return 0.0;
    double s = 0;
    for (double x : v) s += x;
    return s / static_cast<double>(v.size());
}

double meanStderr(const std::vector<double>& v) {
    if (v.size() < 2) return std::nan("");
    const double mu = mean(v);
    double ss = 0;
    for (double x : v) ss += (x - mu) * (x - mu);
    return std::sqrt(ss / static_cast<double>(v.size() - 1)) / std::sqrt(static_cast<double>(v.size()));
}

namespace {
nlohmann::json num(double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(nullptr); }
double numFrom(const nlohmann::json& j) { return j.is_number() ? j.get<double>() : std::nan(""); }

nlohmann::json sideMap(const std::map<std::string, std::map<std::string, double>>& m) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [side, metrics] : m)
        for (const auto& [k, v] : metrics) j[side][k] = num(v);
    return j;
}
std::map<std::string, std::map<std::string, double>> sideMapFrom(const nlohmann::json& j) {
    std::map<std::string, std::map<std::string, double>> m;
    if (!j.is_object()) return m;
    for (auto it = j.begin(); it != j.end(); ++it)
        for (auto m2 = it.value().begin(); m2 != it.value().end(); ++m2) m[it.key()][m2.key()] = numFrom(m2.value());
    return m;
}

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}
std::string csvNum(double x) {
    if (!std::isfinite(x)) return "";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}
}  // namespace

nlohmann::json EvalReport::toJson() const {
    nlohmann::json j = {{"kind", kind},
                        {"model", model},
                        {"adapter", adapter},
                        {"dataset", dataset},
                        {"format", format},
                        {"template", templateName},
                        {"sides", sides},
                        {"metrics", metrics},
                        {"examples", rows.size()},
                        {"cancelled", cancelled},
                        {"seconds", seconds},
                        {"aggregate", sideMap(aggregate)},
                        {"stderr", sideMap(stderrs)}};
    nlohmann::json cls = nlohmann::json::object();
    for (const auto& [side, c] : classification)
        cls[side] = {{"labels", c.labels},     {"confusion", c.confusion}, {"f1", c.f1},
                     {"accuracy", c.accuracy}, {"macro_f1", c.macroF1},    {"n", c.n}};
    j["classification"] = cls;
    nlohmann::json rs = nlohmann::json::array();
    for (const auto& r : rows) {
        nlohmann::json x = {{"index", r.index}, {"line", r.line}, {"prompt", r.prompt}, {"references", r.references}};
        x["answers"] = r.answers;
        x["scores"] = sideMap(r.scores);
        if (kind == "multiple_choice") {
            x["choices"] = r.choices;
            x["answer"] = r.answer;
            nlohmann::json ll = nlohmann::json::object();
            for (const auto& [side, v] : r.loglikelihoods) {
                nlohmann::json a = nlohmann::json::array();
                for (double d : v) a.push_back(num(d));
                ll[side] = a;
            }
            x["loglikelihoods"] = ll;
        }
        rs.push_back(std::move(x));
    }
    j["rows"] = rs;
    nlohmann::json rej = nlohmann::json::array();
    for (const auto& r : rejections) rej.push_back({{"file", r.file}, {"line", r.line}, {"reason", r.reason}});
    j["rejected"] = rej;
    return j;
}

EvalReport EvalReport::fromJson(const nlohmann::json& j, const std::string& where) {
    try {
        EvalReport r;
        r.kind = j.at("kind").get<std::string>();
        r.model = j.value("model", std::string());
        r.adapter = j.value("adapter", std::string());
        r.dataset = j.value("dataset", std::string());
        r.format = j.value("format", std::string());
        r.templateName = j.value("template", std::string());
        r.sides = j.at("sides").get<std::vector<std::string>>();
        r.metrics = j.at("metrics").get<std::vector<std::string>>();
        r.cancelled = j.value("cancelled", false);
        r.seconds = j.value("seconds", 0.0);
        r.aggregate = sideMapFrom(j.at("aggregate"));
        r.stderrs = sideMapFrom(j.value("stderr", nlohmann::json::object()));
        const nlohmann::json cls = j.value("classification", nlohmann::json::object());
        for (auto it = cls.begin(); it != cls.end(); ++it) {
            ClassificationReport c;
            const auto& v = it.value();
            c.labels = v.at("labels").get<std::vector<std::string>>();
            c.confusion = v.at("confusion").get<std::vector<std::vector<int64_t>>>();
            c.f1 = v.at("f1").get<std::vector<double>>();
            c.accuracy = v.at("accuracy").get<double>();
            c.macroF1 = v.at("macro_f1").get<double>();
            c.n = v.at("n").get<int64_t>();
            r.classification[it.key()] = c;
        }
        for (const auto& x : j.at("rows")) {
            ExampleRow row;
            row.index = x.at("index").get<int64_t>();
            row.line = x.at("line").get<int64_t>();
            row.prompt = x.at("prompt").get<std::string>();
            row.references = x.at("references").get<std::vector<std::string>>();
            row.answers = x.at("answers").get<std::map<std::string, std::string>>();
            row.scores = sideMapFrom(x.at("scores"));
            if (x.contains("choices")) {
                row.choices = x["choices"].get<std::vector<std::string>>();
                row.answer = x.value("answer", int64_t{-1});
                for (auto it = x["loglikelihoods"].begin(); it != x["loglikelihoods"].end(); ++it)
                    for (const auto& d : it.value()) row.loglikelihoods[it.key()].push_back(numFrom(d));
            }
            r.rows.push_back(std::move(row));
        }
        for (const auto& x : j.value("rejected", nlohmann::json::array()))
            r.rejections.push_back(
                {x.value("file", std::string()), x.value("line", int64_t{0}), x.value("reason", std::string())});
        return r;
    } catch (const nlohmann::json::exception& e) {
        fail(where, std::string("not an evaluation report (") + e.what() + ")",
             "Give a report.json written by `peft-studio-cli evaluate` or the Evaluate page.");
    }
}

std::string EvalReport::toCsv() const {
    std::string out = "index,line,prompt,reference";
    if (kind == "multiple_choice") out += ",choices,answer";
    for (const auto& s : sides) {
        out += "," + s + "_answer";
        for (const auto& m : metrics) out += "," + s + "_" + m;
    }
    out += "\n";
    for (const auto& r : rows) {
        std::string ref;
        for (const auto& x : r.references) ref += (ref.empty() ? "" : " | ") + x;
        out += std::to_string(r.index) + "," + std::to_string(r.line) + "," + csvField(r.prompt) + "," + csvField(ref);
        if (kind == "multiple_choice") {
            std::string ch;
            for (const auto& x : r.choices) ch += (ch.empty() ? "" : " | ") + x;
            out += "," + csvField(ch) + "," + std::to_string(r.answer);
        }
        for (const auto& s : sides) {
            auto a = r.answers.find(s);
            out += "," + csvField(a == r.answers.end() ? std::string() : a->second);
            auto sc = r.scores.find(s);
            for (const auto& m : metrics) {
                double v = std::nan("");
                if (sc != r.scores.end()) {
                    auto it = sc->second.find(m);
                    if (it != sc->second.end()) v = it->second;
                }
                out += "," + csvNum(v);
            }
        }
        out += "\n";
    }
    return out;
}

void writeReport(const EvalReport& r, const std::string& jsonPath, const std::string& csvPath) {
    writeFileAtomic(jsonPath, r.toJson().dump(2) + "\n");
    if (!csvPath.empty()) writeFileAtomic(csvPath, r.toCsv());
}

EvalReport readReport(const std::string& jsonPath) {
    const std::string bytes = readFile(jsonPath);
    nlohmann::json j = nlohmann::json::parse(bytes, nullptr, false);
    if (j.is_discarded()) fail(jsonPath, "not valid JSON", "Give a report.json written by `peft-studio-cli evaluate`.");
    return EvalReport::fromJson(j, jsonPath);
}

}  // namespace peft::eval
