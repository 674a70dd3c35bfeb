// An inline banner at the top of a page: errors, warnings and notes appear where they happen,
// with the fix, instead of in modal boxes.
#pragma once
#include <QFrame>

class QLabel;
class QToolButton;

namespace peft::ui {

class ErrorBanner : public QFrame {
    Q_OBJECT
public:
    enum class Level { Info, Warning, Error };
    explicit ErrorBanner(QWidget* parent = nullptr);
    void showMessage(Level level, const QString& text);
    void showError(const QString& text) { showMessage(Level::Error, text); }
    void showWarning(const QString& text) { showMessage(Level::Warning, text); }
    void showInfo(const QString& text) { showMessage(Level::Info, text); }
    void clear();
    Level level() const { return m_level; }
    QString text() const;

private:
    void applyStyle();
    QLabel* m_icon;
    QLabel* m_text;
    QToolButton* m_close;
    Level m_level = Level::Info;
};

}  // namespace peft::ui
