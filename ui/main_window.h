// The main window: a sidebar of wizard steps beside a stack of pages.
#pragma once
#include <QMainWindow>

class QListWidget;
class QStackedWidget;

namespace peft::ui {

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    // Index of the page shown.
    int currentStep() const;
    void goToStep(int index);
    QStringList stepNames() const;

public Q_SLOTS:
    void showAbout();

private:
    QListWidget* m_sidebar = nullptr;
    QStackedWidget* m_pages = nullptr;
};

QString aboutText();

}  // namespace peft::ui
