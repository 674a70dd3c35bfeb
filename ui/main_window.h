// The main window: a sidebar of the eight wizard steps beside a stack of pages, Back/Next,
// File (project) and Help menus, and the log panel in a dock.
#pragma once
#include <QMainWindow>

#include <vector>

class QListWidget;
class QStackedWidget;
class QPushButton;
class QMenu;
class QDockWidget;

namespace peft::ui {

class Page;
class ProjectState;
class LogPanel;
class TrainingRunner;
class DatasetPage;
class ModelPage;
class MethodPage;
class BudgetPage;
class TrainPage;
class EvaluatePage;
class ExportPage;
class RunsPage;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;
    // Index of the page shown.
    int currentStep() const;
    void goToStep(int index);
    QStringList stepNames() const;
    Page* page(int index) const;
    int stepCount() const { return static_cast<int>(m_pageList.size()); }

    ProjectState* projectState() const { return m_state; }
    DatasetPage* datasetPage() const { return m_dataset; }
    ModelPage* modelPage() const { return m_model; }
    MethodPage* methodPage() const { return m_method; }
    BudgetPage* budgetPage() const { return m_budget; }
    TrainPage* trainPage() const { return m_train; }
    RunsPage* runsPage() const { return m_runs; }
    LogPanel* logPanel() const { return m_log; }
    TrainingRunner* trainingRunner() const { return m_runner; }

    // Opens the bundled demo folder (model + dataset); a missing folder is explained in the pages.
    void openDemo(const QString& dir);
    // Shows every page in turn and saves each as NN-name.png in `dir`. Returns the files written.
    QStringList saveScreenshots(const QString& dir);
    // Project file actions; errors appear in the current page's banner. Return success.
    bool openProject(const QString& path);
    bool saveProjectAs(const QString& path);

public Q_SLOTS:
    void showAbout();
    void next();
    void back();
    void newProject();
    void openProjectDialog();
    bool saveProject();
    bool saveProjectAsDialog();

protected:
    void closeEvent(QCloseEvent* e) override;

private:
    void addPage(Page* p, const QString& name);
    void updateNav();
    void updateTitle();
    void addRecentProject(const QString& path);
    void rebuildRecentMenu();
    ProjectState* m_state;
    TrainingRunner* m_runner;
    QListWidget* m_sidebar = nullptr;
    QStackedWidget* m_pages = nullptr;
    QPushButton* m_back = nullptr;
    QPushButton* m_next = nullptr;
    QMenu* m_recentMenu = nullptr;
    QDockWidget* m_logDock = nullptr;
    LogPanel* m_log = nullptr;
    std::vector<Page*> m_pageList;
    DatasetPage* m_dataset = nullptr;
    ModelPage* m_model = nullptr;
    MethodPage* m_method = nullptr;
    BudgetPage* m_budget = nullptr;
    TrainPage* m_train = nullptr;
    EvaluatePage* m_evaluate = nullptr;
    ExportPage* m_export = nullptr;
    RunsPage* m_runs = nullptr;
};

QString aboutText();

}  // namespace peft::ui
