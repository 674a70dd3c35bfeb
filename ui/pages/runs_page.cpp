// Runs page: workspace scan, loss overlay, config diff, refine.
#include "ui/pages/runs_page.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "core/eval/text_metric.h"
#include "core/io/model_config.h"
#include "core/train/run_config.h"
#include "core/util/error.h"
#include "ui/metric_point.h"
#include "ui/pages/budget_page.h"
#include "ui/project_state.h"
#include "ui/widgets/metric_chart.h"
#include "ui/named.h"

namespace peft::ui {

using nlohmann::json;

RunRecord readRun(const QString& folder, int* badLines) {
    RunRecord r;
    r.folder = folder;
    r.name = QFileInfo(folder).fileName();
    r.config = readJsonFile(QDir(folder).filePath(QStringLiteral("run.json")).toStdString());
    if (!r.config.is_object())
        fail(QDir(folder).filePath(QStringLiteral("run.json")).toStdString(), "run.json is not a JSON object",
             "Remove the folder from the workspace or fix the file.");
    QFile f(QDir(folder).filePath(QStringLiteral("metrics.jsonl")));
    int bad = 0;
    if (f.open(QIODevice::ReadOnly)) {
        while (!f.atEnd()) {
            const QByteArray line = f.readLine().trimmed();
            if (line.isEmpty()) continue;
            try {
                const MetricPoint p = MetricPoint::fromJson(json::parse(line.toStdString()));
                if (std::isfinite(p.elapsedS)) r.elapsedS = p.elapsedS;
                if (std::isfinite(p.loss)) {
                    r.steps.push_back(static_cast<double>(p.step));
                    r.loss.push_back(p.loss);
                    r.lastLoss = p.loss;
                }
                if (p.hasEval() && (!r.hasEval || p.evalLoss < r.bestEval)) {
                    r.bestEval = p.evalLoss;
                    r.hasEval = true;
                }
            } catch (const std::exception&) {
                ++bad;  // a line cut by a kill mid-write; reported by the caller
            }
        }
    }
    if (badLines) *badLines = bad;
    // The latest task evaluation (Evaluate page or `evaluate --run`), as comparable columns.
    QFile ev(QDir(folder).filePath(QStringLiteral("evaluation/report.json")));
    if (ev.open(QIODevice::ReadOnly)) {
        const json j = json::parse(ev.readAll().toStdString(), nullptr, false);
        if (j.is_object() && j.contains("aggregate") && j["aggregate"].is_object()) {
            const json& agg = j["aggregate"];
            const json& side = agg.contains("tuned") ? agg["tuned"] : agg.value("base", json::object());
            if (side.is_object())
                for (auto it = side.begin(); it != side.end(); ++it)
                    if (it->is_number()) r.evalMetrics[it.key()] = it->get<double>();
        }
    }
    return r;
}

namespace {
constexpr int kBestEvalLossColumn = 4;
constexpr int kFirstEvalColumn = 7;  // after Run, Method, Steps, Last loss, Best eval loss, Modified, Train time

void flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>& out) {
    if (j.is_object()) {
        for (auto it = j.begin(); it != j.end(); ++it)
            flatten(*it, prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    } else {
        out[prefix] = j.dump();
    }
}
}  // namespace

std::vector<std::tuple<std::string, std::string, std::string>> diffConfigs(const json& a, const json& b) {
    std::map<std::string, std::string> fa, fb;
    flatten(a, "", fa);
    flatten(b, "", fb);
    std::set<std::string> keys;
    for (const auto& [k, v] : fa) keys.insert(k);
    for (const auto& [k, v] : fb) keys.insert(k);
    std::vector<std::tuple<std::string, std::string, std::string>> out;
    for (const auto& k : keys) {
        const std::string va = fa.count(k) ? fa[k] : "(absent)";
        const std::string vb = fb.count(k) ? fb[k] : "(absent)";
        if (va != vb) out.emplace_back(k, va, vb);
    }
    return out;
}

RunsPage::RunsPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Runs"),
           tr("Every run in the workspace. Tick runs to overlay their loss curves; select two to compare their "
              "configs; Refine starts a new run from a run's settings."),
           parent) {
    auto* row = new QHBoxLayout();
    row->addWidget(new QLabel(tr("&Workspace:"), this));
    m_workspace = named(new QLineEdit(this), "workspace");
    qobject_cast<QLabel*>(row->itemAt(0)->widget())->setBuddy(m_workspace);
    row->addWidget(m_workspace, 1);
    auto* browse = new QPushButton(tr("B&rowse…"), this);
    auto* rescanBtn = new QPushButton(tr("Re&scan"), this);
    auto* refineBtn = new QPushButton(tr("Refine selected r&un"), this);
    refineBtn->setToolTip(tr("Copy the run's configuration into the project as a new run to adjust and train."));
    row->addWidget(browse);
    row->addWidget(rescanBtn);
    row->addWidget(refineBtn);
    body()->addLayout(row);

    // Refine carries the best run forward: best by the chosen evaluation column.
    auto* bestRow = new QHBoxLayout();
    auto* bestLabel = new QLabel(tr("Best run b&y:"), this);
    m_bestBy = named(new QComboBox(this), "bestBy",
                     tr("The number that makes a run the best: the lowest eval loss, or the highest score of its "
                        "latest task evaluation (Evaluate page, or peft-studio-cli evaluate --run). Clicking an "
                        "eval column's header chooses it too."));
    bestLabel->setBuddy(m_bestBy);
    auto* refineBestBtn = named(new QPushButton(tr("Refine the b&est run"), this), "refineBest",
                                tr("Start a new run from the settings of the best run by this number."));
    bestRow->addWidget(bestLabel);
    bestRow->addWidget(m_bestBy);
    bestRow->addWidget(refineBestBtn);
    bestRow->addStretch(1);
    body()->addLayout(bestRow);
    connect(refineBestBtn, &QPushButton::clicked, this, &RunsPage::refineBest);
    connect(m_bestBy, &QComboBox::currentIndexChanged, this, &RunsPage::markBest);

    // Ready runs (the demo's run configs): pick one, train it, then compare it here.
    m_readyRow = new QWidget(this);
    auto* ready = new QHBoxLayout(m_readyRow);
    ready->setContentsMargins(0, 0, 0, 0);
    auto* readyLabel = new QLabel(tr("Rea&dy runs:"), m_readyRow);
    m_ready = named(new QComboBox(m_readyRow), "readyRuns");
    readyLabel->setBuddy(m_ready);
    auto* trainReady = named(new QPushButton(tr("&Train this run"), m_readyRow), "trainReadyRun",
                             tr("Load this run's settings into the project and start training it; its results appear "
                                "in the table beside the others."));
    m_readyWhy = new QLabel(m_readyRow);
    m_readyWhy->setWordWrap(true);
    ready->addWidget(readyLabel);
    ready->addWidget(m_ready);
    ready->addWidget(trainReady);
    ready->addWidget(m_readyWhy, 1);
    m_readyRow->setVisible(false);
    body()->addWidget(m_readyRow);
    connect(trainReady, &QPushButton::clicked, this, &RunsPage::trainReadyRun);

    auto* split = new QSplitter(Qt::Vertical, this);
    m_table = new QTableWidget(0, 7, split);
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Steps"), tr("Last loss"), tr("Best eval loss"),
                                        tr("Modified"), tr("Train time")});
    m_table->horizontalHeader()->setSectionResizeMode(1, QHeaderView::Stretch);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    auto* bottom = new QSplitter(Qt::Horizontal, split);
    m_chart = new MetricChart(tr("Training loss (smoothed)"), bottom);
    m_chart->setAxisLabels(tr("step"), tr("loss"));
    m_diff = new QTableWidget(0, 3, bottom);
    m_diff->setHorizontalHeaderLabels({tr("Key"), tr("Run A"), tr("Run B")});
    m_diff->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_diff->setEditTriggers(QAbstractItemView::NoEditTriggers);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2);
    body()->addWidget(split, 1);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Workspace folder"), m_workspace->text());
        if (!d.isEmpty()) setWorkspace(d);
    });
    connect(rescanBtn, &QPushButton::clicked, this, &RunsPage::rescan);
    connect(m_workspace, &QLineEdit::editingFinished, this, &RunsPage::rescan);
    connect(refineBtn, &QPushButton::clicked, this, &RunsPage::refine);
    connect(m_table, &QTableWidget::itemSelectionChanged, this, &RunsPage::selectionChanged);
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem* it) {
        if (it->column() == 0) selectionChanged();
    });
    connect(m_table->horizontalHeader(), &QHeaderView::sectionClicked, this, [this](int column) {
        if (column == kBestEvalLossColumn) setBestBy(QStringLiteral("eval_loss"));
        else if (column >= kFirstEvalColumn && column - kFirstEvalColumn < static_cast<int>(m_evalNames.size()))
            setBestBy(QString::fromStdString(m_evalNames[column - kFirstEvalColumn]));
    });
}

void RunsPage::enterPage() {
    if (m_workspace->text().isEmpty()) {
        // The workspace is the folder holding the project's output_dir.
        const QString out = QString::fromStdString(state()->runConfig().value("output_dir", std::string()));
        const QString ws = out.isEmpty() ? QStringLiteral("runs") : QFileInfo(out).path();
        setWorkspace(ws);
    }
}

void RunsPage::setWorkspace(const QString& dir) {
    m_workspace->setText(dir);
    rescan();
}

void RunsPage::rescan() {
    banner()->clear();
    m_runs.clear();
    QStringList problems;
    QDir ws(m_workspace->text());
    if (!ws.exists()) {
        banner()->showInfo(tr("No runs yet: %1 does not exist. Runs appear here after training.").arg(ws.path()));
    } else {
        for (const QFileInfo& fi : ws.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Time)) {
            if (!QFileInfo::exists(QDir(fi.filePath()).filePath(QStringLiteral("run.json")))) continue;
            try {
                int bad = 0;
                m_runs.push_back(readRun(fi.filePath(), &bad));
                if (bad) problems << tr("%1: %2 unreadable metrics.jsonl line(s) ignored.").arg(fi.fileName()).arg(bad);
            } catch (const std::exception& e) {
                problems << QString::fromStdString(e.what());
            }
        }
    }
    if (!problems.isEmpty()) banner()->showWarning(problems.join(QStringLiteral("<br>")));
    m_table->blockSignals(true);
    // One column per evaluation metric any run has (tuned side of its latest evaluation).
    // Registry order first (em, contains, rougeL, bleu, chrf, acc), then derived numbers (macro_f1).
    std::vector<std::string> found, evalNames;
    for (const auto& r : m_runs)
        for (const auto& kv : r.evalMetrics)
            if (std::find(found.begin(), found.end(), kv.first) == found.end()) found.push_back(kv.first);
    for (const auto& n : eval::metricNames())
        if (std::find(found.begin(), found.end(), n) != found.end()) evalNames.push_back(n);
    for (const auto& n : found)
        if (std::find(evalNames.begin(), evalNames.end(), n) == evalNames.end()) evalNames.push_back(n);
    m_evalNames = evalNames;
    QStringList headers = {tr("Run"),      tr("Method"),    tr("Steps"), tr("Last loss"), tr("Best eval loss"),
                           tr("Modified"), tr("Train time")};
    for (const auto& n : evalNames) headers << tr("eval %1").arg(QString::fromStdString(n));
    m_table->setColumnCount(headers.size());
    m_table->setHorizontalHeaderLabels(headers);
    m_table->setRowCount(static_cast<int>(m_runs.size()));
    for (size_t i = 0; i < m_runs.size(); ++i) {
        const RunRecord& r = m_runs[i];
        auto* name = new QTableWidgetItem(r.name);
        name->setFlags(name->flags() | Qt::ItemIsUserCheckable);
        name->setCheckState(i < 3 ? Qt::Checked : Qt::Unchecked);
        const int row = static_cast<int>(i);
        m_table->setItem(row, 0, name);
        m_table->setItem(row, 1, new QTableWidgetItem(describeMethod(r.config.value("method", json::object()))));
        m_table->setItem(row, 2,
                         new QTableWidgetItem(r.steps.empty() ? QStringLiteral("0") : QString::number(r.steps.back())));
        m_table->setItem(
            row, 3, new QTableWidgetItem(r.steps.empty() ? QStringLiteral("—") : QString::number(r.lastLoss, 'f', 4)));
        m_table->setItem(row, 4,
                         new QTableWidgetItem(r.hasEval ? QString::number(r.bestEval, 'f', 4) : QStringLiteral("—")));
        m_table->setItem(row, 5, new QTableWidgetItem(QFileInfo(r.folder).lastModified().toString(Qt::ISODate)));
        m_table->setItem(
            row, 6,
            new QTableWidgetItem(r.steps.empty() ? QStringLiteral("—") : tr("%1 s").arg(r.elapsedS, 0, 'f', 0)));
        for (size_t k = 0; k < evalNames.size(); ++k) {
            auto it = r.evalMetrics.find(evalNames[k]);
            m_table->setItem(row, kFirstEvalColumn + static_cast<int>(k),
                             new QTableWidgetItem(it == r.evalMetrics.end() ? QStringLiteral("—")
                                                                            : QString::number(it->second, 'f', 4)));
        }
    }
    m_table->blockSignals(false);
    fillBestBy(evalNames);
    // Columns as wide as their contents, Method takes what is left: the eval columns stay in view.
    for (int c = 0; c < m_table->columnCount(); ++c)
        if (c != 1) m_table->resizeColumnToContents(c);
    selectionChanged();
}

void RunsPage::fillBestBy(const std::vector<std::string>& evalNames) {
    const QString previous = bestBy();
    m_bestBy->blockSignals(true);
    m_bestBy->clear();
    for (const auto& n : evalNames)
        m_bestBy->addItem(tr("eval %1 (highest)").arg(QString::fromStdString(n)), QString::fromStdString(n));
    m_bestBy->addItem(tr("eval loss (lowest)"), QStringLiteral("eval_loss"));
    const int keep = m_bestBy->findData(previous);
    m_bestBy->setCurrentIndex(keep >= 0 ? keep : 0);
    m_bestBy->blockSignals(false);
    markBest();
}

QString RunsPage::bestBy() const { return m_bestBy->currentData().toString(); }

void RunsPage::setBestBy(const QString& key) {
    const int i = m_bestBy->findData(key);
    if (i >= 0) m_bestBy->setCurrentIndex(i);
}

int RunsPage::bestRunRow(const QString& key) const {
    int best = -1;
    double bestValue = 0;
    const bool lowest = key == QLatin1String("eval_loss");
    for (size_t i = 0; i < m_runs.size(); ++i) {
        const RunRecord& r = m_runs[i];
        double v = 0;
        if (lowest) {
            if (!r.hasEval) continue;
            v = r.bestEval;
        } else {
            auto it = r.evalMetrics.find(key.toStdString());
            if (it == r.evalMetrics.end() || !std::isfinite(it->second)) continue;
            v = it->second;
        }
        if (best < 0 || (lowest ? v < bestValue : v > bestValue)) {
            best = static_cast<int>(i);
            bestValue = v;
        }
    }
    return best;
}

void RunsPage::markBest() {
    const int best = bestRunRow(bestBy());
    m_table->blockSignals(true);
    for (int row = 0; row < m_table->rowCount(); ++row) {
        QTableWidgetItem* it = m_table->item(row, 0);
        if (!it) continue;
        QFont f = it->font();
        f.setBold(row == best);
        it->setFont(f);
        it->setToolTip(row == best ? tr("The best run by %1.").arg(m_bestBy->currentText()) : QString());
    }
    m_table->resizeColumnToContents(0);  // the bold name is wider
    m_table->blockSignals(false);
}

bool RunsPage::refineBest() {
    const int row = bestRunRow(bestBy());
    if (row < 0) {
        banner()->showWarning(m_runs.empty() ? tr("No runs in the workspace yet: train one first.")
                                             : tr("No run has %1 yet. Evaluate runs on the Evaluate page (or with "
                                                  "peft-studio-cli evaluate --run RUN), or choose another number.")
                                                   .arg(m_bestBy->currentText()));
        return false;
    }
    m_table->selectRow(row);
    return refineRun(row);
}

void RunsPage::selectionChanged() {
    static const QColor kColors[] = {QColor(31, 119, 180),  QColor(214, 39, 40),  QColor(44, 160, 44),
                                     QColor(148, 103, 189), QColor(255, 127, 14), QColor(23, 190, 207)};
    m_chart->removeAllSeries();
    int k = 0;
    for (int row = 0; row < m_table->rowCount(); ++row) {
        if (m_table->item(row, 0)->checkState() != Qt::Checked) continue;
        const RunRecord& r = m_runs[row];
        const QColor col = kColors[k++ % 6];
        const int raw = m_chart->addSeries(r.name + tr(" (raw)"), col);
        const int sm = m_chart->addSmoothedSeries(raw, r.name, col);
        m_chart->setSeriesVisible(raw, false);
        (void)sm;
        for (size_t i = 0; i < r.steps.size(); ++i) m_chart->append(raw, r.steps[i], r.loss[i]);
    }
    m_chart->flush();
    // Diff the two selected rows (or the first two ticked).
    std::vector<int> rows;
    for (const auto& idx : m_table->selectionModel()->selectedRows()) rows.push_back(idx.row());
    if (rows.size() < 2) {
        rows.clear();
        for (int row = 0; row < m_table->rowCount() && rows.size() < 2; ++row)
            if (m_table->item(row, 0)->checkState() == Qt::Checked) rows.push_back(row);
    }
    m_diff->setRowCount(0);
    if (rows.size() < 2) return;
    m_diff->setHorizontalHeaderLabels({tr("Key"), m_runs[rows[0]].name, m_runs[rows[1]].name});
    const auto d = diffConfigs(m_runs[rows[0]].config, m_runs[rows[1]].config);
    m_diff->setRowCount(static_cast<int>(d.size()));
    for (size_t i = 0; i < d.size(); ++i) {
        m_diff->setItem(static_cast<int>(i), 0, new QTableWidgetItem(QString::fromStdString(std::get<0>(d[i]))));
        m_diff->setItem(static_cast<int>(i), 1, new QTableWidgetItem(QString::fromStdString(std::get<1>(d[i]))));
        m_diff->setItem(static_cast<int>(i), 2, new QTableWidgetItem(QString::fromStdString(std::get<2>(d[i]))));
    }
}

void RunsPage::setReadyRuns(const QStringList& configFiles, const QString& why) {
    m_ready->clear();
    for (const QString& f : configFiles) {
        QString label = QFileInfo(f).completeBaseName();
        try {
            label +=
                QStringLiteral(" — ") + describeMethod(readJsonFile(f.toStdString()).value("method", json::object()));
        } catch (const std::exception&) {
        }
        m_ready->addItem(label, f);
    }
    m_readyWhy->setText(why);
    m_readyRow->setVisible(!configFiles.isEmpty());
}

void RunsPage::trainReadyRun() {
    const QString file = m_ready->currentData().toString();
    if (file.isEmpty()) return;
    try {
        // Relative paths in the config resolve beside it, as `peft-studio-cli train` resolves them.
        const RunConfig c = RunConfig::load(file.toStdString());
        const json j = c.toJson();
        for (const char* key : {"model", "dataset", "method", "training"}) state()->setSection(key, j[key]);
        // The output goes to the workspace under the name of the config's output_dir (or file),
        // never over an earlier run.
        const QString ws = m_workspace->text().isEmpty() ? QStringLiteral("runs") : m_workspace->text();
        QString name = QFileInfo(QString::fromStdString(c.outputDir)).fileName();
        if (name.isEmpty()) name = QFileInfo(file).completeBaseName();
        const QString base = QDir(ws).filePath(name);
        QString out = base;
        for (int i = 2; QFileInfo::exists(out); ++i) out = base + QStringLiteral("-") + QString::number(i);
        state()->setSection("output_dir", QFileInfo(out).absoluteFilePath().toStdString());
        Q_EMIT state()->projectReplaced();
    } catch (const std::exception& e) {
        banner()->showError(QString::fromStdString(e.what()));
        return;
    }
    Q_EMIT readyRunChosen();
}

void RunsPage::refine() {
    const int row = m_table->currentRow();
    if (row < 0 || row >= static_cast<int>(m_runs.size())) {
        banner()->showWarning(tr("Select a run in the table first, then press Refine."));
        return;
    }
    refineRun(row);
}

bool RunsPage::refineRun(int row) {
    if (row < 0 || row >= static_cast<int>(m_runs.size())) return false;
    const RunRecord& run = m_runs[row];
    // Paths as `train --config RUN/run.json` reads them (relative ones beside the run folder);
    // a run.json this version cannot read is carried over as written.
    json c = run.config;
    QString note;
    try {
        c = RunConfig::load(QDir(run.folder).filePath(QStringLiteral("run.json")).toStdString()).toJson();
    } catch (const std::exception& e) {
        note = tr(" Its run.json was copied as written: %1").arg(QString::fromStdString(e.what()));
    }
    for (const char* key : {"model", "dataset", "method", "training", "objective"})
        if (c.contains(key)) state()->setSection(key, c[key]);
    // A new output folder, so the original run is never overwritten.
    const QString base = run.folder + QStringLiteral("-refine");
    QString out = base;
    for (int i = 2; QFileInfo::exists(out); ++i) out = base + QString::number(i);
    state()->setSection("output_dir", out.toStdString());
    Q_EMIT state()->projectReplaced();  // every page shows the run's settings
    banner()->showInfo(tr("Copied %1's settings into a new run (%2). Adjust them and train again.").arg(run.name, out) +
                       note);
    Q_EMIT refined();
    return true;
}

}  // namespace peft::ui
