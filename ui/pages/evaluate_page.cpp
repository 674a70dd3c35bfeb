// Evaluate page: metrics and the side-by-side playground.
#include "ui/pages/evaluate_page.h"

#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>

#include <QCheckBox>
#include <QFileInfo>
#include <QShowEvent>
#include <QThread>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>

#include "core/data/chat_template.h"
#include "core/model/generate.h"
#include "core/model/loader.h"
#include "core/peft/method.h"
#include "core/tokenizer/tokenizer.h"
#include "ui/project_state.h"

namespace peft::ui {

// One model with the tuned adapter attached; adapterState()->enabled = false gives the base
// model. Only the worker thread touches it, and only one worker runs at a time.
struct EvaluatePage::Loaded {
    std::string modelDir, adapterDir;
    LoadedModel model;
    std::shared_ptr<Tokenizer> tokenizer;
    Adapter adapter;
    LoadedModel full;  // a full fine-tuning run's output: a whole model folder, not an adapter
    bool hasAdapter = false;
};

EvaluatePage::EvaluatePage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Evaluate"),
           tr("How well the tuned model does on the held-out data, and a playground to compare it with the base "
              "model on your own prompt."),
           parent) {
    auto* metrics = new QGroupBox(tr("Latest evaluation"), this);
    auto* form = new QHBoxLayout(metrics);
    auto mk = [&](const QString& name, QLabel*& out) {
        auto* f = new QFormLayout();
        out = new QLabel(QStringLiteral("—"), metrics);
        out->setObjectName(QStringLiteral("metric_") + name);
        QFont big = out->font();
        big.setPointSizeF(big.pointSizeF() * 1.4);
        big.setBold(true);
        out->setFont(big);
        f->addRow(name + QLatin1Char(':'), out);
        form->addLayout(f);
    };
    mk(tr("Eval loss"), m_loss);
    mk(tr("Perplexity"), m_ppl);
    mk(tr("Accuracy"), m_acc);
    body()->addWidget(metrics);

    auto* play = new QGroupBox(tr("Playground"), this);
    auto* pl = new QVBoxLayout(play);
    m_prompt = new QPlainTextEdit(play);
    m_prompt->setPlaceholderText(tr("Type a prompt; both models answer it with the same sampling settings."));
    m_prompt->setMaximumHeight(90);
    pl->addWidget(m_prompt);
    auto* row = new QHBoxLayout();
    row->addWidget(new QLabel(tr("Max new tokens:"), play));
    m_maxTokens = new QSpinBox(play);
    m_maxTokens->setRange(1, 4096);
    m_maxTokens->setValue(64);
    row->addWidget(m_maxTokens);
    m_greedy = new QCheckBox(tr("Greedy (deterministic)"), play);
    m_greedy->setChecked(true);
    m_greedy->setToolTip(tr("Off: sample with temperature 0.8, top-p 0.95 and the same seed for both models."));
    row->addWidget(m_greedy);
    m_generate = new QPushButton(tr("G&enerate"), play);
    m_generate->setObjectName(QStringLiteral("generate"));
    row->addWidget(m_generate);
    m_cancel = new QPushButton(tr("Cancel"), play);
    m_cancel->setEnabled(false);
    row->addWidget(m_cancel);
    row->addStretch(1);
    pl->addLayout(row);
    auto* outs = new QHBoxLayout();
    auto mkOut = [&](const QString& title, QPlainTextEdit*& out) {
        auto* box = new QVBoxLayout();
        box->addWidget(new QLabel(QStringLiteral("<b>%1</b>").arg(title), play));
        out = new QPlainTextEdit(play);
        out->setReadOnly(true);
        out->setObjectName(title);
        box->addWidget(out);
        outs->addLayout(box);
    };
    mkOut(tr("Base model"), m_base);
    mkOut(tr("Tuned model"), m_tuned);
    pl->addLayout(outs, 1);
    body()->addWidget(play, 1);
    m_generate->setToolTip(tr("The base model answers first, then the same model with the tuned adapter switched on. "
                              "The prompt is wrapped in the dataset's prompt template when one is chosen."));
    connect(m_generate, &QPushButton::clicked, this, &EvaluatePage::generate);
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (m_cancelFlag) m_cancelFlag->store(true);
    });
    connect(this, &EvaluatePage::piece, this, [this](bool tuned, const QString& text) {
        QPlainTextEdit* out = tuned ? m_tuned : m_base;
        out->moveCursor(QTextCursor::End);
        out->insertPlainText(text);
    }, Qt::QueuedConnection);
    connect(this, &EvaluatePage::generationDone, this, [this](const QString& error) {
        if (m_worker) {
            m_worker->wait();
            m_worker->deleteLater();
            m_worker = nullptr;
        }
        m_generate->setEnabled(true);
        m_cancel->setEnabled(false);
        if (!error.isEmpty()) banner()->showError(error);
        else banner()->clear();
    }, Qt::QueuedConnection);
    connect(state, &ProjectState::projectReplaced, this, [this] { loadRunMetrics(); });
}

EvaluatePage::~EvaluatePage() {
    if (m_worker) {
        if (m_cancelFlag) m_cancelFlag->store(true);
        m_worker->wait();
        delete m_worker;
    }
}

void EvaluatePage::setPrompt(const QString& prompt) { m_prompt->setPlainText(prompt); }

QString EvaluatePage::baseText() const { return m_base->toPlainText(); }
QString EvaluatePage::tunedText() const { return m_tuned->toPlainText(); }

bool EvaluatePage::loadRunMetrics() {
    const std::string out = state()->runConfig().value("output_dir", std::string());
    std::ifstream in(std::filesystem::path(out) / "metrics.jsonl");
    if (!in) return false;
    std::string line;
    bool found = false;
    MetricPoint last;
    while (std::getline(in, line)) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) continue;  // a torn last line while training writes
        const MetricPoint p = MetricPoint::fromJson(j);
        if (p.hasEval()) {
            last = p;
            found = true;
        }
    }
    if (found) onMetrics(last);
    return found;
}

std::string playgroundPrompt(const nlohmann::json& runConfig, const std::string& typed) {
    // The tuned model learned the run's prompt template: both models get the prompt in it.
    const nlohmann::json& ds = runConfig.contains("dataset") ? runConfig["dataset"] : nlohmann::json::object();
    const auto kind = data::runPromptTemplate(ds.value("template", std::string("auto")), ds.value("format", std::string("auto")),
                                              runConfig.value("model", std::string()));
    return kind ? data::generationPrompt(*kind, typed) : typed;
}

void EvaluatePage::generate() {
    if (m_worker) return;
    banner()->clear();
    std::string prompt = m_prompt->toPlainText().toStdString();
    if (prompt.empty()) {
        banner()->showWarning(tr("Type a prompt first."));
        return;
    }
    const auto& cfg = state()->runConfig();
    const std::string modelDir = cfg.value("model", std::string());
    if (modelDir.empty()) {
        banner()->showWarning(tr("Choose a model on the Model page first."));
        return;
    }
    const std::string adapterDir =
        (std::filesystem::path(cfg.value("output_dir", std::string())) / "adapter").string();
    prompt = playgroundPrompt(cfg, prompt);
    GenerateOptions opts;
    opts.maxNewTokens = m_maxTokens->value();
    opts.greedy = m_greedy->isChecked();
    opts.seed = 1234;
    m_base->clear();
    m_tuned->clear();
    m_generate->setEnabled(false);
    m_cancel->setEnabled(true);
    banner()->showInfo(tr("Generating: the base model first, then the tuned model…"));
    m_cancelFlag = std::make_shared<std::atomic<bool>>(false);
    auto cancel = m_cancelFlag;
    auto loaded = m_loaded;
    m_worker = QThread::create([this, cancel, loaded, modelDir, adapterDir, prompt, opts]() mutable {
        QString error;
        try {
            namespace fs = std::filesystem;
            // A full fine-tuning run writes a model folder (config.json + weights) where an adapter would be.
            const bool haveFull = !fs::exists(fs::path(adapterDir) / "adapter_config.json") &&
                                  fs::exists(fs::path(adapterDir) / "config.json") &&
                                  fs::exists(fs::path(adapterDir) / "model.safetensors");
            const bool haveAdapter = haveFull || fs::exists(fs::path(adapterDir) / "adapter_config.json");
            if (!loaded || loaded->modelDir != modelDir || loaded->adapterDir != (haveAdapter ? adapterDir : std::string())) {
                auto l = std::make_shared<Loaded>();
                l->modelDir = modelDir;
                l->model = loadModel(modelDir);
                l->tokenizer = Tokenizer::load(modelDir);
                if (haveFull) {
                    l->full = loadModel(adapterDir);
                    l->full.model->eval();
                    l->adapterDir = adapterDir;
                    l->hasAdapter = true;
                } else if (haveAdapter) {
                    l->adapter = loadAdapter(*l->model.model, adapterDir);
                    l->adapterDir = adapterDir;
                    l->hasAdapter = true;
                }
                l->model.model->eval();
                loaded = l;
                QMetaObject::invokeMethod(this, [this, l] { m_loaded = l; }, Qt::QueuedConnection);
            }
            torch::NoGradGuard noGrad;
            auto stream = [&](bool tuned) {
                return [this, tuned, cancel](const std::string& text) {
                    Q_EMIT piece(tuned, QString::fromStdString(text));
                    return !cancel->load();
                };
            };
            auto adapterState = loaded->model.model->adapterState();
            // One model, never two generations at once: base = adapter switched off.
            adapterState->enabled = false;
            auto noAnswer = [this](bool tuned) {
                Q_EMIT piece(tuned, tr("(no answer: the model ended the sequence at once)"));
            };
            if (generateText(*loaded->model.model, *loaded->tokenizer, prompt, opts, stream(false)).empty()) noAnswer(false);
            adapterState->enabled = true;
            if (!loaded->hasAdapter) {
                Q_EMIT piece(true, tr("No trained adapter at %1 yet: train on the Train page first.")
                                      .arg(QString::fromStdString(adapterDir)));
            } else if (!cancel->load()) {
                CausalLMImpl& tuned = loaded->full.model ? *loaded->full.model : *loaded->model.model;
                if (generateText(tuned, *loaded->tokenizer, prompt, opts, stream(true)).empty()) noAnswer(true);
            }
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        Q_EMIT generationDone(error);
    });
    m_worker->setObjectName(QStringLiteral("playground"));
    m_worker->start();
}

void EvaluatePage::onMetrics(const MetricPoint& p) {
    if (!p.hasEval()) return;
    m_loss->setText(QString::number(p.evalLoss, 'f', 4));
    m_ppl->setText(std::isfinite(p.evalPerplexity) ? QString::number(p.evalPerplexity, 'f', 2) : QStringLiteral("—"));
    m_acc->setText(std::isfinite(p.evalAccuracy) ? QStringLiteral("%1 %").arg(p.evalAccuracy * 100.0, 0, 'f', 1)
                                                 : QStringLiteral("—"));
}

QString EvaluatePage::metricText(const QString& name) const {
    if (auto* l = findChild<QLabel*>(QStringLiteral("metric_") + name)) return l->text();
    return {};
}

}  // namespace peft::ui
