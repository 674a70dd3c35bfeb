// The log panel: a spdlog sink that forwards every record to a read-only text view on the GUI
// thread through a queued signal, so worker threads never touch widgets.
#pragma once
#include <QPlainTextEdit>

#include <spdlog/sinks/base_sink.h>

#include <memory>
#include <mutex>

namespace peft::ui {

// Emits each formatted log line; lives on the GUI thread, may be called from any thread.
class LogRelay : public QObject {
    Q_OBJECT
public:
    using QObject::QObject;
Q_SIGNALS:
    void line(int level, const QString& text);
};

class QtLogSink : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit QtLogSink(LogRelay* relay) : m_relay(relay) {}
    // Called when the relay dies so late records from workers go nowhere instead of crashing.
    void detach() {
        std::lock_guard<std::mutex> lock(mutex_);
        m_relay = nullptr;
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override;
    void flush_() override {}

private:
    LogRelay* m_relay;
};

class LogPanel : public QPlainTextEdit {
    Q_OBJECT
public:
    explicit LogPanel(QWidget* parent = nullptr);
    ~LogPanel() override;
    // Adds this panel's sink to spdlog's default logger.
    void attachToDefaultLogger();
    int lineCount() const { return m_lines; }

public Q_SLOTS:
    void appendLine(int level, const QString& text);

private:
    LogRelay* m_relay;
    std::shared_ptr<QtLogSink> m_sink;
    int m_lines = 0;
};

}  // namespace peft::ui
