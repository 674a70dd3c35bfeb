// Training settings form (see training_settings.h).
#include "ui/widgets/training_settings.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QLocale>
#include <QSpinBox>

#include <cmath>
#include <limits>

#include "core/util/cpu_cores.h"
#include "core/util/runtime_info.h"
#include "ui/project_state.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

namespace {

QSpinBox* spin(QWidget* parent, int lo, int hi, const QString& objectName, const QString& tip,
               const QString& special = {}) {
    auto* s = new QSpinBox(parent);
    s->setRange(lo, hi);
    s->setKeyboardTracking(false);  // typing "128" writes 128 once, not 1, 12 and 128
    s->setObjectName(objectName);
    s->setToolTip(tip);
    if (!special.isEmpty()) s->setSpecialValueText(special);
    return s;
}

QComboBox* combo(QWidget* parent, const QStringList& items, const QString& objectName, const QString& tip) {
    auto* c = new QComboBox(parent);
    c->addItems(items);
    c->setObjectName(objectName);
    c->setToolTip(tip);
    return c;
}

// A JSON number as an int for a spin box, clamped to its range (a hand-edited project may hold more).
int clampedInt(const json& v, int fallback, const QSpinBox* s) {
    const double d = v.is_number() ? v.get<double>() : fallback;
    if (!std::isfinite(d)) return fallback;
    return static_cast<int>(std::max<double>(s->minimum(), std::min<double>(s->maximum(), d)));
}

void setComboText(QComboBox* c, const std::string& value) {
    const QString v = QString::fromStdString(value);
    if (c->findText(v) < 0) c->addItem(v);  // e.g. "cuda:1" from a hand-edited project
    c->setCurrentText(v);
}

}  // namespace

TrainingSettings::TrainingSettings(ProjectState* state, QWidget* parent)
    : QGroupBox(tr("Training settings"), parent), m_state(state) {
    setObjectName(QStringLiteral("trainingSettings"));
    setToolTip(
        tr("The run config's training section. Changes apply to the next run you start; a run that is going "
           "keeps the settings it started with."));
    m_precision = combo(this, {QStringLiteral("bf16"), QStringLiteral("fp32")}, QStringLiteral("precision"),
                        tr("bf16 halves the memory of weights and activations and is several times faster on CPUs "
                           "with AMX or AVX512-BF16 and on GPUs; fp32 is the exact reference."));
    m_device =
        combo(this, {QStringLiteral("auto"), QStringLiteral("cpu"), QStringLiteral("cuda")}, QStringLiteral("device"),
              tr("auto trains on the first CUDA GPU when this build and machine have one, else on the CPU."));
    m_batch = spin(this, 1, 4096, QStringLiteral("batchSize"),
                   tr("Sequences per forward pass. Memory grows with it (the Budget page shows how much)."));
    m_accum = spin(this, 1, 1024, QStringLiteral("gradAccum"),
                   tr("Gradient accumulation: passes per optimizer step. A larger effective batch with the memory of "
                      "one pass."));
    m_epochs = spin(this, 1, 100000, QStringLiteral("epochs"), tr("Passes over the training data."));
    m_maxSteps = spin(this, 0, std::numeric_limits<int>::max(), QStringLiteral("maxSteps"),
                      tr("Optimizer steps to run; when set it replaces the epoch count (the data repeats)."),
                      tr("off (use epochs)"));
    m_lr = named(new QLineEdit(this), "learningRate",
                 tr("Peak learning rate, e.g. 2e-4 for LoRA, 1e-5 for full fine-tuning, 3e-2 for prompt tuning."));
    m_lr->setMaximumWidth(110);
    m_scheduler = combo(this, {QStringLiteral("cosine"), QStringLiteral("linear"), QStringLiteral("constant")},
                        QStringLiteral("scheduler"), tr("How the learning rate falls after the warm-up."));
    m_warmup = spin(this, 0, std::numeric_limits<int>::max(), QStringLiteral("warmupSteps"),
                    tr("Steps over which the learning rate rises linearly from 0."));
    m_optimizer = combo(this, {QStringLiteral("adamw"), QStringLiteral("adam"), QStringLiteral("sgd")},
                        QStringLiteral("optimizer"),
                        tr("AdamW keeps two fp32 values per trainable parameter; SGD keeps at most one."));
    m_evalEvery = spin(this, 0, std::numeric_limits<int>::max(), QStringLiteral("evalEvery"),
                       tr("Steps between evaluations on the validation rows (also at the end)."), tr("off"));
    m_saveEvery = spin(this, 0, std::numeric_limits<int>::max(), QStringLiteral("saveEvery"),
                       tr("Steps between checkpoints (a stopped or crashed run resumes from the newest)."), tr("off"));
    m_seed = spin(this, 0, std::numeric_limits<int>::max(), QStringLiteral("seed"),
                  tr("Seeds the adapter initialisation, dropout and the data order: the same seed repeats a run."));
    m_packed = named(new QCheckBox(tr("Pre-pack frozen weights (CPU bf16)"), this), "packedWeights",
                     tr("CPU bf16 training keeps two extra bf16 copies of the frozen layer weights in the layout "
                        "oneDNN's matrix kernels read (about 10% faster steps on AMX CPUs). Turn it off when RAM is "
                        "short: the Budget page shows what the copies cost. No effect in fp32, on a GPU, with QLoRA "
                        "or in full fine-tuning."));
    {
        std::string why;
        const int autoThreads = resolveThreadCount(0, &why);
        m_threads = spin(this, 0, 4096, QStringLiteral("threads"),
                         tr("CPU threads for training and evaluation. Auto uses every core this process may use "
                            "(%1).")
                             .arg(QString::fromStdString(why)),
                         tr("auto (%1)").arg(autoThreads));
    }
    m_processes = spin(this, 1, 1024, QStringLiteral("processes"),
                       tr("Data-parallel training on this machine: this many processes each take an equal share of "
                          "every optimizer step, and their gradients are summed. The step's batch grows with them "
                          "(batch size x accumulation x processes); automatic threads are shared between them. "
                          "Charts come from the first process; Pause and Stop reach them all."));
    if (const int n = cudaDeviceCount(); n > 0) {
        m_gpus = named(new QListWidget(this), "gpus",
                       tr("The GPUs to train on, one process each (data parallel over NCCL). None checked: the "
                          "first GPU alone."));
        for (int i = 0; i < n; ++i) {
            auto* item = new QListWidgetItem(tr("GPU %1 (cuda:%1)").arg(i), m_gpus);
            item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
            item->setCheckState(Qt::Unchecked);
            item->setData(Qt::UserRole, i);
        }
        m_gpus->setMaximumHeight(m_gpus->sizeHintForRow(0) * std::min(n, 4) + 2 * m_gpus->frameWidth() + 4);
    }
    m_precisionHint =
        new QLabel(tr("This CPU has no AVX-512: bf16 runs about 14× slower than fp32 here. Pick fp32."), this);
    m_precisionHint->setObjectName(QStringLiteral("precisionHint"));
    m_precisionHint->setWordWrap(true);
    {
        QPalette pal = m_precisionHint->palette();
        pal.setColor(QPalette::WindowText, QColor(190, 40, 40));
        m_precisionHint->setPalette(pal);
    }
    m_precisionHint->hide();
    m_summary = named(new QLabel(this), "trainingSummary");
    m_summary->setForegroundRole(QPalette::PlaceholderText);

    // One column beside the charts (the Train page), so the charts keep the page's height.
    // Mnemonics avoid the page's buttons (&Start, &Pause, S&top, &Resume, &Back, &Next), the run
    // name and the menus (&File, &Go, &View, &Help).
    auto* form = new QFormLayout(this);
    m_form = form;
    form->setContentsMargins(8, 6, 8, 6);
    form->setFieldGrowthPolicy(QFormLayout::FieldsStayAtSizeHint);
    form->addRow(tr("Pre&cision:"), m_precision);
    form->addRow(m_precisionHint);
    form->addRow(tr("Dev&ice:"), m_device);
    form->addRow(tr("Batch si&ze:"), m_batch);
    form->addRow(tr("Accu&mulation:"), m_accum);
    form->addRow(tr("&Epochs:"), m_epochs);
    form->addRow(tr("Ma&x steps:"), m_maxSteps);
    form->addRow(tr("&Learning rate:"), m_lr);
    form->addRow(tr("Sched&ule:"), m_scheduler);
    form->addRow(tr("&Warm-up steps:"), m_warmup);
    form->addRow(tr("&Optimizer:"), m_optimizer);
    form->addRow(tr("Evaluate ever&y:"), m_evalEvery);
    form->addRow(tr("Chec&kpoint every:"), m_saveEvery);
    form->addRow(tr("See&d:"), m_seed);
    form->addRow(tr("CPU threads:"), m_threads);
    form->addRow(tr("Processes:"), m_processes);
    if (m_gpus) form->addRow(tr("GPUs:"), m_gpus);
    form->addRow(m_packed);
    form->addRow(m_summary);
    m_summary->setWordWrap(true);

    auto write = [this](const char* key, const json& value) {
        if (m_loading) return;
        json t = m_state->runConfig()["training"];
        if (t.contains(key) && t[key] == value) return;
        t[key] = value;
        m_state->setSection("training", t);
    };
    auto text = [](QComboBox* c) { return c->currentText().toStdString(); };
    connect(m_precision, &QComboBox::currentTextChanged, this, [=] { write("precision", text(m_precision)); });
    connect(m_device, &QComboBox::currentTextChanged, this, [=] { write("device", text(m_device)); });
    connect(m_scheduler, &QComboBox::currentTextChanged, this, [=] { write("scheduler", text(m_scheduler)); });
    connect(m_optimizer, &QComboBox::currentTextChanged, this, [=] { write("optimizer", text(m_optimizer)); });
    const std::pair<QSpinBox*, const char*> spins[] = {
        {m_batch, "batch_size"},     {m_accum, "grad_accum"},     {m_epochs, "epochs"}, {m_warmup, "warmup_steps"},
        {m_evalEvery, "eval_every"}, {m_saveEvery, "save_every"}, {m_seed, "seed"},     {m_threads, "threads"}};
    for (const auto& [s, key] : spins)
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, [=](int v) { write(key, v); });
    // 0 in the box is the config's -1 (no step limit).
    connect(m_maxSteps, qOverload<int>(&QSpinBox::valueChanged), this,
            [=](int v) { write("max_steps", v > 0 ? v : -1); });
    connect(m_packed, &QCheckBox::toggled, this, [=](bool on) { write("packed_weights", on); });
    connect(m_processes, qOverload<int>(&QSpinBox::valueChanged), this, [=](int v) { write("processes", v); });
    if (m_gpus)
        connect(m_gpus, &QListWidget::itemChanged, this, [=] {
            json list = json::array();
            for (int i = 0; i < m_gpus->count(); ++i)
                if (m_gpus->item(i)->checkState() == Qt::Checked)
                    list.push_back(m_gpus->item(i)->data(Qt::UserRole).toInt());
            write("gpus", list);
        });
    connect(m_lr, &QLineEdit::editingFinished, this, [=] {
        if (m_loading) return;
        bool ok = false;
        const double lr = QLocale::c().toDouble(m_lr->text().trimmed(), &ok);
        if (!ok || !(lr > 0) || !std::isfinite(lr)) {
            Q_EMIT problem(tr("Learning rate: '%1' is not a positive number. Write it like 2e-4 or 0.0002.")
                               .arg(m_lr->text().trimmed()));
            loadFromState();  // back to the value the project holds
            return;
        }
        // The box shows 6 significant digits: leaving it unedited must not round the project's value.
        const json& current = m_state->runConfig()["training"]["lr"];
        if (current.is_number() && std::abs(current.get<double>() - lr) <= 1e-5 * std::abs(current.get<double>()))
            return;
        write("lr", lr);
    });
    connect(state, &ProjectState::configChanged, this, &TrainingSettings::loadFromState);
    connect(state, &ProjectState::projectReplaced, this, &TrainingSettings::loadFromState);
    loadFromState();
}

void TrainingSettings::loadFromState() {
    m_loading = true;
    const json& t = m_state->runConfig()["training"];
    setComboText(m_precision, t.value("precision", std::string("bf16")));
    setComboText(m_device, t.value("device", std::string("auto")));
    setComboText(m_scheduler, t.value("scheduler", std::string("cosine")));
    setComboText(m_optimizer, t.value("optimizer", std::string("adamw")));
    m_batch->setValue(clampedInt(t.value("batch_size", json(4)), 4, m_batch));
    m_accum->setValue(clampedInt(t.value("grad_accum", json(1)), 1, m_accum));
    m_epochs->setValue(clampedInt(t.value("epochs", json(1)), 1, m_epochs));
    const int maxSteps = clampedInt(t.value("max_steps", json(-1)), 0, m_maxSteps);
    m_maxSteps->setValue(maxSteps > 0 ? maxSteps : 0);
    m_warmup->setValue(clampedInt(t.value("warmup_steps", json(0)), 0, m_warmup));
    m_evalEvery->setValue(clampedInt(t.value("eval_every", json(50)), 50, m_evalEvery));
    m_saveEvery->setValue(clampedInt(t.value("save_every", json(100)), 100, m_saveEvery));
    m_seed->setValue(clampedInt(t.value("seed", json(42)), 42, m_seed));
    m_packed->setChecked(t.value("packed_weights", true));
    m_threads->setValue(clampedInt(t.value("threads", json(0)), 0, m_threads));
    m_processes->setValue(clampedInt(t.value("processes", json(1)), 1, m_processes));
    if (m_gpus) {
        const json g = t.value("gpus", json::array());
        for (int i = 0; i < m_gpus->count(); ++i) {
            bool on = false;
            if (g.is_array())
                for (const auto& v : g)
                    on = on || (v.is_number_integer() && v.get<int>() == m_gpus->item(i)->data(Qt::UserRole).toInt());
            m_gpus->item(i)->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        }
    }
    if (!m_lr->hasFocus()) {
        const json lr = t.value("lr", json(2e-4));
        m_lr->setText(lr.is_number() ? QString::number(lr.get<double>(), 'g', 6) : QString());
    }
    m_epochs->setEnabled(m_maxSteps->value() == 0);
    m_loading = false;
    updateSummary();
    updatePrecisionHint();
    updateRankRows();
}

bool TrainingSettings::trainsOnCuda() const {
    const QString device = m_device->currentText();
    return m_gpus && (device.startsWith(QLatin1String("cuda")) || device == QLatin1String("auto"));
}

void TrainingSettings::updateRankRows() {
    const bool cuda = trainsOnCuda();
    m_form->setRowVisible(m_processes, !cuda);
    if (m_gpus) m_form->setRowVisible(m_gpus, cuda);
}

void TrainingSettings::updatePrecisionHint() {
    const QString device = m_device->currentText();
    const bool onCpu = device == QLatin1String("cpu") || (device == QLatin1String("auto") && !cudaAvailable());
    m_precisionHint->setVisible(m_precision->currentText() == QLatin1String("bf16") && onCpu && !cpuHasFastBf16());
}

void TrainingSettings::updateSummary() {
    const int64_t seqLen = m_state->runConfig()["dataset"].value("max_length", int64_t(512));
    int64_t ranks = m_processes->value();
    if (trainsOnCuda()) {
        ranks = 0;
        for (int i = 0; i < m_gpus->count(); ++i) ranks += m_gpus->item(i)->checkState() == Qt::Checked;
        ranks = std::max<int64_t>(1, ranks);
    }
    const int64_t sequences = int64_t(m_batch->value()) * m_accum->value() * ranks;
    const int steps = m_maxSteps->value(), epochs = m_epochs->value();
    const QString length = steps > 0 ? (steps == 1 ? tr("1 optimizer step") : tr("%1 optimizer steps").arg(steps))
                                     : (epochs == 1 ? tr("1 epoch") : tr("%1 epochs").arg(epochs));
    const QString seqs = sequences == 1 ? tr("1 sequence") : tr("%1 sequences").arg(sequences);
    const QString split = ranks > 1 ? tr(", split over %1 processes").arg(ranks) : QString();
    m_summary->setText(tr("Each optimizer step: %1 of up to %2 tokens (%3 tokens%4). The run: %5.")
                           .arg(seqs)
                           .arg(seqLen)
                           .arg(QLocale().toString(static_cast<qlonglong>(sequences * seqLen)))
                           .arg(split)
                           .arg(length));
}

}  // namespace peft::ui
