// Budget page: candidate list; the charts wait for core/budget.
#include "ui/pages/budget_page.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>

#include <unistd.h>

#include "ui/method_catalog.h"
#include "ui/model_summary.h"
#include "ui/project_state.h"

namespace peft::ui {

using nlohmann::json;

QString describeMethod(const json& method) {
    const MethodInfo* m = methodForConfig(method);
    QString s = m ? m->name : QString::fromStdString(method.value("peft_type", std::string("?")));
    if (method.contains("r")) s += QStringLiteral(" r=%1").arg(method["r"].get<int>());
    if (method.contains("num_virtual_tokens"))
        s += QStringLiteral(" (%1 tokens)").arg(method["num_virtual_tokens"].get<int>());
    if (method.contains("bottleneck_size")) s += QStringLiteral(" size %1").arg(method["bottleneck_size"].get<int>());
    if (method.contains("target_modules") && method["target_modules"].is_array()) {
        QStringList t;
        for (const auto& x : method["target_modules"]) t << QString::fromStdString(x.get<std::string>());
        if (t.size() > 4) t = t.mid(0, 4) << QStringLiteral("…");
        s += QStringLiteral(" [%1]").arg(t.join(QStringLiteral(", ")));
    }
    return s;
}

BudgetPage::BudgetPage(ProjectState* state, QWidget* parent)
    : Page(state, tr("Budget"),
           tr("Compare candidate configurations before training: trainable parameters, memory, adapter size and "
              "time, computed from config.json alone."),
           parent) {
    auto* top = new QHBoxLayout();
    auto* left = new QVBoxLayout();
    left->addWidget(new QLabel(tr("Candidates:"), this));
    m_list = new QListWidget(this);
    m_list->setObjectName(QStringLiteral("candidates"));
    m_list->setMaximumHeight(150);
    left->addWidget(m_list);
    auto* buttons = new QHBoxLayout();
    auto* add = new QPushButton(tr("&Add current method"), this);
    add->setToolTip(tr("Adds the configuration from the Method step as a candidate."));
    auto* remove = new QPushButton(tr("&Remove"), this);
    buttons->addWidget(add);
    buttons->addWidget(remove);
    buttons->addStretch(1);
    left->addLayout(buttons);
    top->addLayout(left, 1);
    m_machine = new QLabel(this);
    m_machine->setWordWrap(true);
    m_machine->setAlignment(Qt::AlignTop);
    top->addWidget(m_machine, 1);
    body()->addLayout(top);
    // HOOK (budget branch): side-by-side table, trainable-parameter bars (log scale), stacked
    // memory bars, adapter size and time estimates go here, and the RAM warning in the banner.
    m_results = makeUnavailableNote(tr("Parameter, memory, adapter-size and time estimates need the core's budget "
                                       "module (core/budget), which this build does not include yet."),
                                    this);
    body()->addWidget(m_results, 1);

    connect(add, &QPushButton::clicked, this, [this] { addCandidate(this->state()->runConfig()["method"]); });
    connect(remove, &QPushButton::clicked, this, [this] { removeCandidate(m_list->currentRow()); });
    connect(state, &ProjectState::projectReplaced, this, [this] {
        m_candidates.clear();
        const json& ui = this->state()->uiState();
        if (ui.contains("budget_candidates") && ui["budget_candidates"].is_array())
            for (const auto& c : ui["budget_candidates"]) m_candidates.push_back(c);
        refresh();
    });
    refresh();
}

void BudgetPage::enterPage() {
    if (m_candidates.empty()) addCandidate(state()->runConfig()["method"]);
    refresh();
}

void BudgetPage::addCandidate(const json& method) {
    for (const auto& c : m_candidates)
        if (c == method) return;
    m_candidates.push_back(method);
    state()->setUiValue("budget_candidates", json(m_candidates));
    refresh();
}

void BudgetPage::removeCandidate(int index) {
    if (index < 0 || index >= static_cast<int>(m_candidates.size())) return;
    m_candidates.erase(m_candidates.begin() + index);
    state()->setUiValue("budget_candidates", json(m_candidates));
    refresh();
}

void BudgetPage::refresh() {
    m_list->clear();
    for (const auto& c : m_candidates) m_list->addItem(describeMethod(c));
    const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
    const uint64_t ram = pages > 0 && pageSize > 0 ? static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize) : 0;
    QString model = tr("no model chosen");
    if (const auto& m = state()->model())
        model = QStringLiteral("%1, %2 layers, hidden %3")
                    .arg(QString::fromStdString(m->modelType))
                    .arg(m->numLayers)
                    .arg(m->hiddenSize);
    m_machine->setText(tr("<b>Model:</b> %1<br><b>This machine:</b> %2 RAM")
                           .arg(model, QString::fromStdString(humanBytes(ram))));
}

}  // namespace peft::ui
