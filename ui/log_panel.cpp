// spdlog -> Qt bridge and the log view.
#include "ui/log_panel.h"

#include <QFontDatabase>

#include <spdlog/spdlog.h>

namespace peft::ui {

void QtLogSink::sink_it_(const spdlog::details::log_msg& msg) {
    if (!m_relay) return;
    spdlog::memory_buf_t buf;
    formatter_->format(msg, buf);
    QString text = QString::fromUtf8(buf.data(), static_cast<int>(buf.size())).trimmed();
    // Queued across threads: the signal is delivered on the relay's (GUI) thread.
    Q_EMIT m_relay->line(static_cast<int>(msg.level), text);
}

LogPanel::LogPanel(QWidget* parent) : QPlainTextEdit(parent), m_relay(new LogRelay(this)) {
    setReadOnly(true);
    setMaximumBlockCount(5000);
    setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    setLineWrapMode(QPlainTextEdit::NoWrap);
    setPlaceholderText(tr("Log messages from the core appear here."));
    m_sink = std::make_shared<QtLogSink>(m_relay);
    m_sink->set_pattern("[%H:%M:%S] [%l] %v");
    connect(m_relay, &LogRelay::line, this, &LogPanel::appendLine, Qt::QueuedConnection);
}

LogPanel::~LogPanel() {
    m_sink->detach();
    if (auto logger = spdlog::default_logger()) {
        auto& sinks = logger->sinks();
        sinks.erase(std::remove(sinks.begin(), sinks.end(), m_sink), sinks.end());
    }
}

void LogPanel::attachToDefaultLogger() {
    if (auto logger = spdlog::default_logger()) logger->sinks().push_back(m_sink);
}

void LogPanel::appendLine(int level, const QString& text) {
    ++m_lines;
    if (level >= spdlog::level::err)
        appendHtml(QStringLiteral("<span style=\"color:#d03030\">%1</span>").arg(text.toHtmlEscaped()));
    else if (level == spdlog::level::warn)
        appendHtml(QStringLiteral("<span style=\"color:#b07000\">%1</span>").arg(text.toHtmlEscaped()));
    else appendPlainText(text);
}

}  // namespace peft::ui
