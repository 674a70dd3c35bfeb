// Budget page: candidates side by side with the core's estimates.
#include "ui/pages/budget_page.h"

#include <QCoreApplication>
#include <QHBoxLayout>

#include <algorithm>
#include <QHeaderView>
#include <QLabel>
#include <QPointer>
#include <QProgressBar>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <unistd.h>

#include "core/budget/budget.h"
#include "core/budget/preference_budget.h"
#include "core/data/prepare.h"
#include "core/train/objectives/objective_spec.h"
#include "core/train/run_config.h"
#include "core/train/time_estimate.h"
#include "core/io/architecture.h"
#include "core/peft/method_spec.h"
#include "ui/background_task.h"
#include "ui/method_catalog.h"
#include "ui/model_summary.h"
#include "core/util/runtime_info.h"
#include "ui/project_state.h"
#include "ui/widgets/qcp.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

json stripCandidateKeys(const json& candidate) {
    if (!candidate.is_object()) return candidate;
    json c = json::object();
    for (auto it = candidate.begin(); it != candidate.end(); ++it)
        if (it.key().empty() || it.key()[0] != '_') c[it.key()] = it.value();
    return c;
}

QString describeMethod(const json& method) {
    if (method.contains("_label") && method["_label"].is_string())
        return QString::fromStdString(method["_label"].get<std::string>());
    const MethodInfo* m = methodForConfig(method, method.value("_quantize_base", false));
    QString s = m ? m->name : QString::fromStdString(method.value("peft_type", std::string("?")));
    if (method.contains("r") && method["r"].is_number()) s += QStringLiteral(" r=%1").arg(method["r"].get<int>());
    if (method.contains("num_virtual_tokens") && method["num_virtual_tokens"].is_number())
        s += QStringLiteral(" %1").arg(method["num_virtual_tokens"].get<int>());
    if (method.contains("bottleneck_size") && method["bottleneck_size"].is_number())
        s += QStringLiteral(" b=%1").arg(method["bottleneck_size"].get<int>());
    if (method.contains("target_modules") && method["target_modules"].is_array()) {
        QStringList t;
        for (const auto& x : method["target_modules"])
            if (x.is_string()) t << QString::fromStdString(x.get<std::string>());
        if (t.size() > 3) t = t.mid(0, 3) << QStringLiteral("…");
        s += QStringLiteral(" [%1]").arg(t.join(QStringLiteral(",")));
    }
    return s;
}

QStringList describeCandidates(const std::vector<json>& candidates) {
    QStringList names;
    for (const auto& c : candidates) names << describeMethod(c);
    for (int i = 0; i < names.size(); ++i) {
        std::vector<int> same;
        for (int j = 0; j < names.size(); ++j)
            if (names[j] == names[i]) same.push_back(j);
        if (same.size() < 2) continue;
        // Keys (not the page's own) whose values differ within the group, in a stable order:
        // those every member sets come first (a key one member leaves out may just be its default).
        std::vector<std::string> keys, partial;
        for (int j : same)
            for (auto it = candidates[static_cast<size_t>(j)].begin(); it != candidates[static_cast<size_t>(j)].end();
                 ++it) {
                const std::string& key = it.key();
                if (key.empty() || key[0] == '_' || std::find(keys.begin(), keys.end(), key) != keys.end() ||
                    std::find(partial.begin(), partial.end(), key) != partial.end())
                    continue;
                bool differs = false, everywhere = true;
                for (int k : same) {
                    const json& other = candidates[static_cast<size_t>(k)];
                    everywhere = everywhere && other.contains(key);
                    differs = differs || other.value(key, json()) != it.value();
                }
                if (differs) (everywhere ? keys : partial).push_back(key);
            }
        if (keys.empty()) keys = partial;
        const QString base = names[i];
        for (int j : same) {
            QStringList extra;
            for (const auto& k : keys) {
                const json v = candidates[static_cast<size_t>(j)].value(k, json());
                extra << QStringLiteral("%1=%2").arg(
                    QString::fromStdString(k),
                    v.is_null() ? QStringLiteral("default") : QString::fromStdString(v.dump()));
                if (extra.size() == 2) break;
            }
            names[j] = extra.isEmpty() ? base : base + QStringLiteral(" ") + extra.join(QStringLiteral(" "));
        }
    }
    return names;
}

namespace {
uint64_t machineRam() {
    const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && pageSize > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize) : 0;
}
// Data-parallel processes of the Train page's settings: the checked GPUs of a CUDA run, else
// training.processes (each holds the whole model and its own batch_size rows).
int64_t processCount(const json& training, bool cuda) {
    const json gpus = training.value("gpus", json::array());
    if (cuda && gpus.is_array() && !gpus.empty()) return static_cast<int64_t>(gpus.size());
    const json p = training.value("processes", json(1));
    return p.is_number_integer() ? std::max<int64_t>(1, p.get<int64_t>()) : 1;
}
// The run config's method section minus run-only keys, as an adapter_config.json.
json adapterConfig(const json& method) {
    json c = stripCandidateKeys(method);
    c.erase("init_from");
    return c;
}
QCustomPlot* makePlot(QWidget* parent) {
    auto* p = new QCustomPlot(parent);
    p->setMinimumHeight(180);
    const QPalette pal = parent->palette();
    p->setBackground(pal.color(QPalette::Base));
    for (QCPAxis* a : {p->xAxis, p->yAxis}) {
        a->setBasePen(QPen(pal.color(QPalette::Text)));
        a->setTickPen(QPen(pal.color(QPalette::Text)));
        a->setSubTickPen(QPen(pal.color(QPalette::Text)));
        a->setTickLabelColor(pal.color(QPalette::Text));
        a->setLabelColor(pal.color(QPalette::Text));
    }
    p->legend->setBrush(pal.color(QPalette::Base));
    p->legend->setTextColor(pal.color(QPalette::Text));
    return p;
}
}  // namespace

BudgetPage::BudgetPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Budget"),
           tr("Compare candidate configurations before training: trainable parameters, memory for a training "
              "step and adapter size, computed from config.json alone (no weights); and the run's time, measured "
              "with a few real steps on your data (Measure run time)."),
           parent) {
    auto* row = new QHBoxLayout();
    auto* add = new QPushButton(tr("&Add current method"), this);
    add->setToolTip(tr("Adds the configuration from the Method step as a candidate."));
    auto* addStd = new QPushButton(tr("Add &standard set"), this);
    addStd->setToolTip(tr("LoRA r=4/8/16, DoRA r=8, (IA)³ and prefix tuning (20) on the chosen targets."));
    auto* remove = new QPushButton(tr("&Remove"), this);
    auto* use = new QPushButton(tr("&Use selected"), this);
    use->setToolTip(tr("Makes the selected candidate the project's method."));
    m_measure = named(new QPushButton(tr("Measure run &time"), this), "budgetMeasure",
                      tr("Times every candidate with a few real training steps on the project's dataset and "
                         "settings (and one checkpoint and one evaluation), then scales them to the whole run. "
                         "Loads the model once per candidate."));
    for (QPushButton* b : {add, addStd, remove, use, m_measure}) row->addWidget(b);
    m_measureProgress = named(new QProgressBar(this), "budgetMeasureProgress");
    m_measureProgress->setRange(0, 1000);
    m_measureProgress->setTextVisible(true);
    m_measureProgress->setVisible(false);
    row->addWidget(m_measureProgress, 1);
    m_cancelMeasure = named(new QPushButton(tr("Cancel"), this), "budgetCancelMeasure");
    m_cancelMeasure->setVisible(false);
    row->addWidget(m_cancelMeasure);
    row->addStretch(1);
    m_assumes = named(new QLabel(this), "budgetAssumes",
                      tr("What every estimate assumes: batch size, precision, device and the packed weight copies "
                         "come from the Train page's settings, the sequence length from the Dataset page's max "
                         "length."));
    row->addWidget(m_assumes);
    row->addSpacing(16);
    m_machine = new QLabel(this);
    row->addWidget(m_machine);
    body()->addLayout(row);

    auto* split = new QSplitter(Qt::Vertical, this);
    m_table = named(new QTableWidget(0, 9, split), "budgetTable");
    m_table->setHorizontalHeaderLabels({tr("Candidate"), tr("Trainable"), tr("% of all"), tr("All params"),
                                        tr("Training memory"), tr("Adapter file"), tr("Checkpoint"), tr("Weights"),
                                        tr("Run time")});
    m_table->horizontalHeaderItem(8)->setToolTip(
        tr("The whole run's wall time, measured: 'Measure run time' trains each candidate for a warm-up and five "
           "timed steps on this project's dataset and settings, writes one checkpoint and evaluates, then scales "
           "to the run's steps, checkpoints and evaluations. With several processes or GPUs, one rank is measured "
           "as it would run. Hover a cell for the breakdown."));
    m_table->horizontalHeaderItem(4)->setToolTip(
        tr("Tensor memory of a training step: weights + optimizer state + the step's peak of activations and "
           "gradients, as LibTorch allocates it (on a GPU: the CUDA allocator's peak). Not included: the "
           "process itself (~150-300 MB) and, on CPU, memory the C allocator keeps after freeing it "
           "(peak RSS measured 1.1-2x this figure; see the README)."));
    m_table->horizontalHeaderItem(7)->setToolTip(tr("Memory of the resident weights (NF4 for QLoRA candidates)."));
    m_table->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* charts = new QWidget(split);
    auto* cl = new QHBoxLayout(charts);
    cl->setContentsMargins(0, 0, 0, 0);
    m_params = makePlot(charts);
    m_memory = makePlot(charts);
    // The legend sits in a row above the bars (two columns), so no bar can hide behind it.
    m_memory->axisRect()->insetLayout()->take(m_memory->legend);
    m_memory->axisRect()->insetLayout()->simplify();
    m_memory->plotLayout()->insertRow(0);
    m_memory->plotLayout()->addElement(0, 0, m_memory->legend);
    m_memory->plotLayout()->setRowStretchFactor(0, 0.001);
    m_memory->legend->setFillOrder(QCPLegend::foColumnsFirst);
    m_memory->legend->setWrap(2);
    m_memory->legend->setMargins(QMargins(4, 2, 4, 2));
    m_memory->legend->setBorderPen(Qt::NoPen);
    cl->addWidget(m_params, 1);
    cl->addWidget(m_memory, 1);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    body()->addWidget(split, 1);

    m_timing = new BackgroundTask(this);
    connect(m_measure, &QPushButton::clicked, this, &BudgetPage::measureRunTimes);
    connect(m_cancelMeasure, &QPushButton::clicked, this, &BudgetPage::cancelMeasurement);
    connect(m_timing, &BackgroundTask::started, this, [this](const QString& what) {
        m_measureProgress->setFormat(what);
        m_measureProgress->setValue(0);
        m_measureProgress->setVisible(true);
        m_cancelMeasure->setVisible(true);
        m_measure->setEnabled(false);
    });
    connect(m_timing, &BackgroundTask::progress, this, [this](const QString& what, double f) {
        m_measureProgress->setFormat(what);
        if (f >= 0) m_measureProgress->setValue(static_cast<int>(f * 1000));
    });
    connect(m_timing, &BackgroundTask::finished, this, [this] {
        m_measureProgress->setVisible(false);
        m_cancelMeasure->setVisible(false);
        m_measure->setEnabled(true);
    });
    connect(m_timing, &BackgroundTask::succeeded, this, [this] { Q_EMIT measurementFinished(true); });
    connect(m_timing, &BackgroundTask::failed, this, [this](const QString& msg) {
        banner()->showError(msg);
        Q_EMIT measurementFinished(false);
    });
    connect(m_timing, &BackgroundTask::cancelled, this, [this] {
        banner()->showInfo(tr("Measurement cancelled; the times measured before it stay."));
        Q_EMIT measurementFinished(false);
    });
    connect(add, &QPushButton::clicked, this, [this] { addCandidate(currentCandidate()); });
    connect(addStd, &QPushButton::clicked, this, &BudgetPage::addStandardCandidates);
    connect(remove, &QPushButton::clicked, this, [this] { removeCandidate(m_table->currentRow()); });
    connect(use, &QPushButton::clicked, this, [this] {
        const int r = m_table->currentRow();
        if (r < 0 || r >= static_cast<int>(m_candidates.size())) {
            banner()->showWarning(tr("Select a candidate in the table first."));
            return;
        }
        const json& c = m_candidates[r];
        const bool quantize = c.value("_quantize_base", false);
        this->state()->setSection("method", stripCandidateKeys(c));
        json t = this->state()->runConfig()["training"];
        t["quantize_base"] = quantize;
        this->state()->setSection("training", t);
        if (const MethodInfo* m = methodForConfig(stripCandidateKeys(c), quantize))
            this->state()->setUiValue("method_card", m->id.toStdString());
        Q_EMIT this->state()->projectReplaced();
    });
    connect(state, &ProjectState::projectReplaced, this, [this] {
        m_candidates.clear();
        const json& ui = this->state()->uiState();
        if (ui.contains("budget_candidates") && ui["budget_candidates"].is_array())
            for (const auto& c : ui["budget_candidates"]) m_candidates.push_back(c);
        m_times = ui.contains("budget_times") && ui["budget_times"].is_object() ? ui["budget_times"] : json::object();
        refresh();
    });
    connect(state, &ProjectState::modelChanged, this, &BudgetPage::refresh);
}

json BudgetPage::currentCandidate() const {
    json c = state()->runConfig()["method"];
    if (state()->runConfig()["training"].value("quantize_base", false) &&
        isLowRankType(c.value("peft_type", std::string())))
        c["_quantize_base"] = true;
    return c;
}

budget::BudgetOptions BudgetPage::optionsFor(const json& candidate) const {
    const json& cfg = state()->runConfig();
    budget::BudgetOptions o;
    o.batch = cfg["training"].value("batch_size", 4);
    o.seqLen = cfg["dataset"].value("max_length", 512);
    o.precision = budget::parsePrecision(cfg["training"].value("precision", std::string("fp32")), "training.precision");
    // The trainer's QLoRA stores the frozen layer linears as NF4 with double-quantised scales.
    if (candidate.value("_quantize_base", false)) o.quantizeBase = budget::BaseQuant::Nf4DoubleQuant;
    // The Train page's device (auto: a GPU where LibTorch sees one, as the trainer picks) and
    // packed-copies settings (a GPU run keeps no packed copies).
    const json dev = cfg["training"].value("device", json("auto"));
    const std::string d = dev.is_string() ? dev.get<std::string>() : std::string("auto");
    if (d.rfind("cuda", 0) == 0 || (d == "auto" && cudaAvailable())) o.device = budget::Device::Cuda;
    o.packedWeights = cfg["training"].value("packed_weights", true);
    return o;
}

void BudgetPage::enterPage() {
    if (m_candidates.empty()) addCandidate(currentCandidate());
    refresh();
}

void BudgetPage::addCandidate(const json& method) {
    for (const auto& c : m_candidates)
        if (c == method) return;
    if (method.value("_suggested", false))
        m_candidates.erase(std::remove_if(m_candidates.begin(), m_candidates.end(),
                                          [](const json& c) { return c.value("_suggested", false); }),
                           m_candidates.end());
    m_candidates.push_back(method);
    state()->setUiValue("budget_candidates", json(m_candidates));
    refresh();
}

void BudgetPage::addStandardCandidates() {
    json targets = state()->runConfig()["method"].value("target_modules", json());
    const auto& model = state()->model();
    const ArchTable arch = model ? archTable(*model) : ArchTable{};
    // The run config's targets when this model has modules of those names, else the model's default.
    bool known = targets.is_array() && !targets.empty();
    if (known && model)
        for (const auto& t : targets) {
            bool found = false;
            for (const auto& l : arch.linears)
                found |= t.is_string() && (t.get<std::string>() == l.name || t.get<std::string>() == l.path);
            known &= found;
        }
    if (!known) targets = model ? json(suggestedLoraTargets(arch)) : json{"q_proj", "v_proj"};
    // LoRA at rank r (alpha 2r, dropout 0.05) on the targets; DoRA and QLoRA at rank 8.
    auto lora = [&targets](int r) {
        return json{{"peft_type", "LORA"}, {"task_type", "CAUSAL_LM"}, {"r", r},
                    {"lora_alpha", 2 * r}, {"lora_dropout", 0.05},     {"target_modules", targets},
                    {"use_dora", false},   {"use_rslora", false}};
    };
    for (int r : {4, 8, 16}) addCandidate(lora(r));
    json dora = lora(8), qlora = lora(8);
    dora["use_dora"] = true;
    qlora["_quantize_base"] = true;
    addCandidate(dora);
    addCandidate(qlora);
    addCandidate({{"peft_type", "IA3"},
                  {"task_type", "CAUSAL_LM"},
                  {"target_modules", model ? json(suggestedIa3Targets(arch)) : json{"k_proj", "v_proj", "down_proj"}},
                  {"feedforward_modules", model ? json(suggestedIa3Feedforward(arch)) : json{"down_proj"}}});
    addCandidate({{"peft_type", "PREFIX_TUNING"}, {"task_type", "CAUSAL_LM"}, {"num_virtual_tokens", 20}});
}

void BudgetPage::setNote(const QString& text) {
    if (!m_note) {
        m_note = named(new QLabel(this), "budgetNote");
        m_note->setWordWrap(true);
        body()->insertWidget(0, m_note);
    }
    m_note->setText(text);
    m_note->setVisible(!text.isEmpty());
}

QString BudgetPage::note() const { return m_note ? m_note->text() : QString(); }

void BudgetPage::removeCandidate(int index) {
    if (index < 0 || index >= static_cast<int>(m_candidates.size())) return;
    m_candidates.erase(m_candidates.begin() + index);
    state()->setUiValue("budget_candidates", json(m_candidates));
    refresh();
}

void BudgetPage::refresh() {
    banner()->clear();
    const uint64_t ram = machineRam();
    m_machine->setText(tr("This machine: %1 RAM").arg(QString::fromStdString(humanBytes(ram))));
    {
        const budget::BudgetOptions o = optionsFor(json::object());
        const int64_t procs = processCount(state()->runConfig()["training"], o.device == budget::Device::Cuda);
        m_assumes->setText(
            tr("Batch %1 × %2 tokens%6, %3, %4%5")
                .arg(o.batch)
                .arg(o.seqLen)
                .arg(QString::fromStdString(budget::toString(o.precision)),
                     o.device == budget::Device::Cuda ? tr("GPU") : tr("CPU"),
                     o.precision == budget::Precision::Bf16 && o.device == budget::Device::Cpu && !o.packedWeights
                         ? tr(", no packed copies")
                         : QString())
                .arg(procs > 1 ? (o.device == budget::Device::Cuda ? tr(" per GPU × %1 GPUs")
                                                                   : tr(" per process × %1 processes"))
                                     .arg(procs)
                               : QString()));
    }
    // A preference objective (Method page) runs two sequences per pair and maybe a reference.
    json objective = {{"type", "sft"}};
    try {
        objective = resolveObjectiveConfig(state()->runConfig().value("objective", json()), "project");
    } catch (const std::exception&) {
        // The Method page reports a bad objective; estimate as SFT meanwhile.
    }
    const ObjectiveSpec& objSpec = objectiveSpec(objective["type"].get<std::string>());
    if (objSpec.preference)
        m_assumes->setText(m_assumes->text() +
                           tr(", %1: batch = pairs, 2 sequences each%2")
                               .arg(QString::fromStdString(objSpec.displayName),
                                    objSpec.usesReference && !objective.value("precompute_reference", false)
                                        ? tr(" + reference forward")
                                        : QString()));
    m_table->setRowCount(static_cast<int>(m_candidates.size()));
    {
        // Every data-parallel process holds the whole model and its own batch: the column is per process.
        const budget::BudgetOptions o = optionsFor(json::object());
        const bool perProcess = processCount(state()->runConfig()["training"], o.device == budget::Device::Cuda) > 1;
        m_table->horizontalHeaderItem(4)->setText(
            perProcess ? (o.device == budget::Device::Cuda ? tr("Memory per GPU") : tr("Memory per process"))
                       : tr("Training memory"));
    }
    std::vector<budget::Estimate> est;
    QStringList names, problems;
    const auto& model = state()->model();
    const QStringList labels = describeCandidates(m_candidates);
    for (size_t i = 0; i < m_candidates.size(); ++i) {
        const int row = static_cast<int>(i);
        const QString name = labels[row];
        m_table->setItem(row, 0, new QTableWidgetItem(name));
        for (int c = 1; c < 9; ++c) m_table->setItem(row, c, new QTableWidgetItem(QStringLiteral("—")));
        // A timing that failed says why in the banner too, not only in its cell's tooltip.
        if (const QString err = showRunTime(row, m_candidates[i]); !err.isEmpty())
            problems << tr("%1: measuring the run time failed: %2").arg(name, err.toHtmlEscaped());
        if (!model) continue;
        try {
            json ac = adapterConfig(m_candidates[i]);
            const budget::BudgetOptions o = optionsFor(m_candidates[i]);
            if (const MethodSpec* sp = findMethodSpec(ac.value("peft_type", std::string())); sp && sp->replacesBase())
                ac = json();
            const budget::PreferenceCost pc = budget::estimateWithObjective(*model, ac, o, objective);
            const budget::Estimate& e = pc.estimate;
            auto cell = [&](int c, const std::string& s) { m_table->item(row, c)->setText(QString::fromStdString(s)); };
            cell(1, budget::humanCount(e.params.trainable));
            m_table->item(row, 2)->setText(QString::number(e.params.percent(), 'g', 3) + QStringLiteral(" %"));
            cell(3, budget::humanCount(e.params.total()));
            cell(4, budget::humanBytes(e.memory.trainingTotal()));
            cell(5, budget::humanBytes(e.adapterFileBytes));
            cell(6, budget::humanBytes(e.checkpointBytes));
            cell(7, budget::humanBytes(e.memory.weights));
            QStringList parts;
            for (const auto& [dtype, bytes] : e.memory.weightsByDtype)
                parts << QStringLiteral("%1: %2").arg(QString::fromStdString(dtype),
                                                      QString::fromStdString(budget::humanBytes(bytes)));
            if (e.memory.packedWeights > 0)
                parts << tr("+ %1 oneDNN packed copies of the frozen layer weights (CPU bf16 training; in the "
                            "training memory; the Train page's 'Pre-pack frozen weights' turns them off)")
                             .arg(QString::fromStdString(budget::humanBytes(e.memory.packedWeights)));
            m_table->item(row, 7)->setToolTip(parts.join(QLatin1Char('\n')));
            QStringList assumed;
            for (const auto& a : budget::objectiveAssumptions(objective, pc, o.batch))
                assumed << QString::fromStdString(a);
            if (!assumed.isEmpty())
                m_table->item(row, 4)->setToolTip(
                    tr("%1 assumes: %2.")
                        .arg(QString::fromStdString(objSpec.displayName), assumed.join(QStringLiteral("; "))));
            m_table->item(row, 7)->setData(Qt::UserRole, QVariant::fromValue<qulonglong>(e.memory.weights));
            m_table->item(row, 1)->setToolTip(QString::number(e.params.trainable));
            // Data parallel: every process holds the whole model and its own batch, so CPU processes
            // together need that many times one's memory (GPU ranks each have their own GPU).
            const bool cpu = o.device == budget::Device::Cpu;
            const int64_t procs = processCount(state()->runConfig()["training"], !cpu);
            const uint64_t machineBytes = e.memory.trainingTotal() * static_cast<uint64_t>(cpu ? procs : 1);
            if (procs > 1) {
                m_table->item(row, 4)->setToolTip(
                    cpu ? tr("%1 processes on this machine: %2 in all")
                              .arg(procs)
                              .arg(QString::fromStdString(budget::humanBytes(machineBytes)))
                        : tr("On each of %1 GPUs").arg(procs));
            }
            if (ram > 0 && cpu && procs > 1 && machineBytes > ram) {
                m_table->item(row, 4)->setForeground(QColor(200, 40, 40));
                problems << tr("%1 needs about %2 per process, %3 for %4 processes, more than this machine's %5 RAM: "
                               "use fewer processes, lower the batch size or max length, or pick a lighter method.")
                                .arg(name, QString::fromStdString(budget::humanBytes(e.memory.trainingTotal())),
                                     QString::fromStdString(budget::humanBytes(machineBytes)))
                                .arg(procs)
                                .arg(QString::fromStdString(humanBytes(ram)));
            } else if (ram > 0 && e.memory.trainingTotal() > ram) {
                m_table->item(row, 4)->setForeground(QColor(200, 40, 40));
                problems << tr("%1 needs about %2 for a training step, more than this machine's %3 RAM: lower the "
                               "batch size or max length, use bf16, or pick a lighter method.")
                                .arg(name, QString::fromStdString(budget::humanBytes(e.memory.trainingTotal())),
                                     QString::fromStdString(humanBytes(ram)));
            }
            est.push_back(e);
            names << name;
        } catch (const std::exception& e) {
            problems << tr("%1: %2").arg(name, QString::fromStdString(e.what()));
        }
    }
    // The per-process header is longer than the default column.
    if (m_table->horizontalHeaderItem(4)->text() != tr("Training memory")) m_table->resizeColumnToContents(4);
    if (!model) banner()->showInfo(tr("Pick a model on the Model step to see the estimates."));
    else if (!problems.isEmpty()) banner()->showWarning(problems.join(QStringLiteral("<br>")));
    drawCharts(est, names);
}

std::string BudgetPage::timingKey(const json& candidate) const {
    json run = state()->runConfig();
    run.erase("method");
    run.erase("output_dir");
    json t = run.value("training", json::object());
    // Settings that only say when to stop or how the run is shown do not change a step's time;
    // everything else (batch, precision, threads, processes, eval and save cadence) does.
    for (const char* k : {"log_every", "early_stopping_patience", "keep_checkpoints"}) t.erase(k);
    run["training"] = t;
    return json{{"candidate", candidate}, {"run", run}}.dump();
}

QString BudgetPage::showRunTime(int row, const json& candidate) {
    QTableWidgetItem* item = m_table->item(row, 8);
    const std::string key = timingKey(candidate);
    if (!m_times.contains(key)) {
        // A time measured under other settings would mislead: say it is stale instead.
        bool stale = false;
        const std::string mine = json(candidate).dump();
        for (auto it = m_times.begin(); it != m_times.end() && !stale; ++it) {
            try {
                stale = json::parse(it.key()).value("candidate", json()).dump() == mine;
            } catch (const std::exception&) {
            }
        }
        item->setText(stale ? tr("— (settings changed)") : QStringLiteral("—"));
        item->setToolTip(stale ? tr("Measured under other settings (batch, length, precision, processes, dataset or "
                                    "objective). Press 'Measure run time' again.")
                               : tr("Not measured yet: press 'Measure run time'."));
        return {};
    }
    const json& e = m_times[key];
    if (e.contains("error")) {
        item->setText(tr("failed"));
        item->setForeground(QColor(200, 40, 40));
        item->setToolTip(QString::fromStdString(e["error"].get<std::string>()));
        return item->toolTip();
    }
    const double total = e.value("total_seconds", 0.0);
    item->setText(QString::fromStdString(humanDuration(total)));
    item->setData(Qt::UserRole, total);
    QStringList tip;
    // The timed steps' spread says how far one step's time moves with its batch.
    double lo = 0, hi = 0;
    for (const auto& x : e.value("step_seconds", json::array()))
        if (x.is_number()) {
            lo = lo == 0 ? x.get<double>() : std::min(lo, x.get<double>());
            hi = std::max(hi, x.get<double>());
        }
    tip << tr("%1 steps × %2 s (mean of %3 timed, %4–%5 s)%6 = %7")
               .arg(e.value("total_steps", int64_t{0}))
               .arg(e.value("mean_step_seconds", 0.0), 0, 'f', 3)
               .arg(e.value("step_seconds", json::array()).size())
               .arg(lo, 0, 'f', 3)
               .arg(hi, 0, 'f', 3)
               .arg(e.value("all_reduce_timed", false)
                        ? tr(" + %1 s all-reduce").arg(e.value("all_reduce_seconds", 0.0), 0, 'f', 3)
                        : QString())
               .arg(QString::fromStdString(humanDuration(e.value("steps_seconds", 0.0))));
    tip << tr("setup (model, method, data): %1")
               .arg(QString::fromStdString(humanDuration(e.value("setup_seconds", 0.0))));
    if (e.value("evaluations", int64_t{0}) > 0)
        tip << tr("%1 evaluations × %2 s")
                   .arg(e.value("evaluations", int64_t{0}))
                   .arg(e.value("evaluation_seconds", 0.0), 0, 'f', 2);
    tip << (e.value("checkpoint_timed", false) ? tr("%1 checkpoints × %2 s")
                                                     .arg(e.value("checkpoints", int64_t{0}))
                                                     .arg(e.value("checkpoint_seconds", 0.0), 0, 'f', 2)
                                               : tr("checkpoints not timed"));
    const int64_t world = e.value("world_size", int64_t{1});
    const int threads = e.value("threads_per_process", 0);
    tip << (world > 1 ? tr("%1 processes on %2").arg(world) : tr("one process on %2"))
               .arg(QString::fromStdString(e.value("device", std::string("cpu"))) +
                    (threads > 0 ? tr(", %1 threads each").arg(threads) : QString()));
    for (const auto& a : e.value("assumptions", json::array()))
        if (a.is_string()) tip << tr("assumes: %1").arg(QString::fromStdString(a.get<std::string>()));
    item->setToolTip(tip.join(QLatin1Char('\n')));
    return {};
}

bool BudgetPage::isMeasuring() const { return m_timing->isRunning(); }

void BudgetPage::cancelMeasurement() { m_timing->cancel(); }

void BudgetPage::measureRunTimes() {
    banner()->clear();
    if (!state()->model()) {
        banner()->showWarning(tr("Pick a model on the Model step first."));
        return;
    }
    if (m_candidates.empty()) {
        banner()->showWarning(tr("Add a candidate first."));
        return;
    }
    const json run = state()->runConfig();
    if (!run.value("dataset", json::object()).contains("path")) {
        banner()->showWarning(tr("Import a dataset on the Dataset step first: the time is measured on it."));
        return;
    }
    struct Job {
        std::string key;
        json candidate;
        QString name;
    };
    std::vector<Job> jobs;
    const QStringList names = describeCandidates(m_candidates);
    for (size_t i = 0; i < m_candidates.size(); ++i)
        jobs.push_back({timingKey(m_candidates[i]), m_candidates[i], names[static_cast<int>(i)]});
    // Each result lands as soon as it is measured, so a Cancel keeps those before it.
    QPointer<BudgetPage> self(this);
    m_timing->start(tr("Measuring run time"), [jobs, run, self](const TaskContext& ctx) -> BackgroundTask::Apply {
        const double n = static_cast<double>(jobs.size());
        for (size_t i = 0; i < jobs.size() && !ctx.cancelled(); ++i) {
            const Job& job = jobs[i];
            json result;
            try {
                json cfgJson = run;
                cfgJson["method"] = adapterConfig(job.candidate);
                json t = cfgJson.value("training", json::object());
                t["quantize_base"] = job.candidate.value("_quantize_base", false);
                cfgJson["training"] = t;
                RunConfig cfg = RunConfig::fromJson(cfgJson, "project");
                const TimeEstimate e = estimateRunTime(
                    cfg, {},
                    [&](const std::string& what, double f) {
                        ctx.progress(QObject::tr("%1 (%2 of %3): %4")
                                         .arg(job.name)
                                         .arg(i + 1)
                                         .arg(jobs.size())
                                         .arg(QString::fromStdString(what)),
                                     (static_cast<double>(i) + f) / n);
                    },
                    [&] { return ctx.cancelled(); });
                result = e.toJson();
            } catch (const data::Cancelled&) {
                break;
            } catch (const std::exception& ex) {
                result = {{"error", ex.what()}};
            }
            // Hand each result to the page at once (a later Cancel drops only the job's Apply).
            QMetaObject::invokeMethod(
                qApp,
                [self, key = job.key, result] {
                    if (!self) return;
                    self->m_times[key] = result;
                    self->state()->setUiValue("budget_times", self->m_times);
                    self->refresh();
                },
                Qt::QueuedConnection);
        }
        return [] {};
    });
}

void BudgetPage::drawCharts(const std::vector<budget::Estimate>& est, const QStringList& names) {
    for (QCustomPlot* p : {m_params, m_memory}) {
        p->clearPlottables();
        p->clearItems();
    }
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    QVector<double> keys;
    for (int i = 0; i < names.size(); ++i) {
        keys << i + 1;
        ticker->addTick(i + 1, names[i].left(18));
    }
    // Trainable parameters, log scale.
    auto* bars = new QCPBars(m_params->xAxis, m_params->yAxis);
    QVector<double> vals;
    for (const auto& e : est) vals << std::max<double>(1.0, static_cast<double>(e.params.trainable));
    bars->setData(keys, vals);
    bars->setBrush(QColor(31, 119, 180, 170));
    bars->setPen(QPen(QColor(31, 119, 180)));
    bars->setWidth(0.6);
    m_params->xAxis->setTicker(ticker);
    m_params->xAxis->setTickLabelRotation(30);
    m_params->xAxis->setRange(0.4, names.size() + 0.6);
    m_params->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_params->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_params->yAxis->setLabel(tr("trainable parameters (log)"));
    double maxV = 10;
    for (double v : vals) maxV = std::max(maxV, v);
    m_params->yAxis->setRange(1, maxV * 5);
    m_params->replot();

    // Training memory, stacked: weights, optimizer state, step peak (activations + gradients).
    const QColor colors[] = {QColor(127, 127, 127), QColor(255, 127, 14), QColor(44, 160, 44)};
    bool anyPacked = false;
    for (const auto& e : est) anyPacked = anyPacked || e.memory.packedWeights > 0;
    const QString labels[] = {anyPacked ? tr("weights (+ packed copies)") : tr("weights"), tr("optimizer state"),
                              tr("activations + gradients (step peak)")};
    QCPBars* below = nullptr;
    double top = 1;
    for (int part = 0; part < 3; ++part) {
        auto* b = new QCPBars(m_memory->xAxis, m_memory->yAxis);
        QVector<double> v;
        for (const auto& e : est) {
            const uint64_t x = part == 0 ? e.memory.weights + e.memory.packedWeights
                : part == 1              ? e.memory.optimizerState
                                         : e.memory.stepPeak;
            v << static_cast<double>(x) / (1024.0 * 1024.0);
        }
        b->setData(keys, v);
        b->setName(labels[part]);
        b->setBrush(colors[part]);
        b->setPen(QPen(colors[part].darker(130)));
        b->setWidth(0.6);
        if (below) b->moveAbove(below);
        below = b;
    }
    for (const auto& e : est) top = std::max(top, static_cast<double>(e.memory.trainingTotal()) / (1024.0 * 1024.0));
    m_memory->xAxis->setTicker(ticker);
    m_memory->xAxis->setTickLabelRotation(30);
    m_memory->xAxis->setRange(0.4, names.size() + 0.6);
    m_memory->yAxis->setLabel(tr("training memory (MiB)"));
    m_memory->yAxis->setRange(0, top * 1.15);
    m_memory->legend->setVisible(!est.empty());
    m_memory->replot();
}

}  // namespace peft::ui
