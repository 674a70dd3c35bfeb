// Base of every wizard page: a title, a one-line purpose, an inline message banner and a body.
#pragma once
#include <QWidget>

#include "ui/widgets/error_banner.h"

class QLabel;
class QVBoxLayout;

namespace peft::ui {

class ProjectState;

class Page : public QWidget {
    Q_OBJECT
public:
    Page(ProjectState* state, const QString& title, const QString& subtitle, QWidget* parent = nullptr);
    QString title() const { return m_titleText; }
    ErrorBanner* banner() const { return m_banner; }
    ProjectState* state() const { return m_state; }
    // Called when the page becomes visible in the wizard.
    virtual void enterPage() {}

protected:
    // Pages add their widgets here.
    QVBoxLayout* body() const { return m_body; }
    // Shows "where: what. fix" from a PeftError (or any exception) in the banner.
    void showException(const std::exception& e);

private:
    ProjectState* m_state;
    QString m_titleText;
    ErrorBanner* m_banner;
    QVBoxLayout* m_body;
};

// A label in a "not available in this build" style, for parts whose core code has not landed.
QWidget* makeUnavailableNote(const QString& what, QWidget* parent);

}  // namespace peft::ui
