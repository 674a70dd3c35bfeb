// Main window layout and the About box.
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenuBar>
#include <QMessageBox>
#include <QStackedWidget>

#include "core/util/runtime_info.h"

namespace peft::ui {

QString aboutText() {
    auto blas = peft::activeBlas();
    return QStringLiteral("<h3>PEFT Studio %1</h3><p>Guided parameter-efficient fine-tuning.</p>"
                          "<p>LibTorch %2<br>BLAS: %3</p>")
        .arg(QString::fromStdString(peft::projectVersion()), QString::fromStdString(peft::torchVersion()),
             QString::fromStdString(blas.name + (blas.library.empty() ? "" : " (" + blas.library + ")")));
}

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(QStringLiteral("PEFT Studio"));
    setWindowIcon(QIcon(QStringLiteral(":/icons/peft-studio.svg")));
    auto* central = new QWidget(this);
    auto* layout = new QHBoxLayout(central);
    m_sidebar = new QListWidget(central);
    m_sidebar->setFixedWidth(180);
    m_pages = new QStackedWidget(central);
    const QStringList steps = {tr("1  Dataset"), tr("2  Model"),    tr("3  Method"), tr("4  Budget"),
                               tr("5  Train"),   tr("6  Evaluate"), tr("7  Export"), tr("8  Runs")};
    for (const QString& s : steps) {
        m_sidebar->addItem(s);
        auto* page = new QLabel(s, m_pages);
        page->setAlignment(Qt::AlignCenter);
        m_pages->addWidget(page);
    }
    layout->addWidget(m_sidebar);
    layout->addWidget(m_pages, 1);
    setCentralWidget(central);
    connect(m_sidebar, &QListWidget::currentRowChanged, m_pages, &QStackedWidget::setCurrentIndex);
    m_sidebar->setCurrentRow(0);

    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About PEFT Studio"), this, &MainWindow::showAbout);
    resize(1280, 800);
}

int MainWindow::currentStep() const { return m_pages->currentIndex(); }
void MainWindow::goToStep(int index) { m_sidebar->setCurrentRow(index); }
QStringList MainWindow::stepNames() const {
    QStringList out;
    for (int i = 0; i < m_sidebar->count(); ++i) out << m_sidebar->item(i)->text();
    return out;
}

void MainWindow::showAbout() { QMessageBox::about(this, tr("About PEFT Studio"), aboutText()); }

}  // namespace peft::ui
