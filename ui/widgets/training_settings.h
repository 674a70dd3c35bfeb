// The run config's training section as a form (Train page): precision, device, batch size and
// accumulation, length (epochs or max steps), learning rate and schedule, optimizer, evaluation
// and checkpoint intervals, seed, CPU threads, data-parallel processes (or GPUs) and the CPU bf16 packed-weight copies. Every change is written
// to the project at once (ProjectState::setSection), so the Budget page and a saved project see it.
#pragma once
#include <QGroupBox>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QListWidget;
class QSpinBox;

namespace peft::ui {

class ProjectState;

class TrainingSettings : public QGroupBox {
    Q_OBJECT
public:
    explicit TrainingSettings(ProjectState* state, QWidget* parent = nullptr);
    // Re-reads the project's training section (after a project is opened or another page edits it).
    void loadFromState();

    QComboBox* precision() const { return m_precision; }
    QComboBox* device() const { return m_device; }
    QSpinBox* batchSize() const { return m_batch; }
    QSpinBox* gradAccum() const { return m_accum; }
    QSpinBox* epochs() const { return m_epochs; }
    QSpinBox* maxSteps() const { return m_maxSteps; }
    QLineEdit* learningRate() const { return m_lr; }
    QComboBox* scheduler() const { return m_scheduler; }
    QSpinBox* warmupSteps() const { return m_warmup; }
    QComboBox* optimizer() const { return m_optimizer; }
    QSpinBox* evalEvery() const { return m_evalEvery; }
    QSpinBox* saveEvery() const { return m_saveEvery; }
    QSpinBox* seed() const { return m_seed; }
    QCheckBox* packedWeights() const { return m_packed; }
    // training.threads: 0 shows "auto (N)", N being the count the trainer would pick here.
    QSpinBox* threads() const { return m_threads; }
    // training.processes: local data-parallel ranks on the CPU (1: one process). Shown unless the
    // run trains on CUDA GPUs, where gpus() replaces it.
    QSpinBox* processes() const { return m_processes; }
    // training.gpus: one checkable row per CUDA device, each checked one a rank. Exists only when
    // LibTorch sees CUDA devices (nullptr otherwise).
    QListWidget* gpus() const { return m_gpus; }
    QLabel* summary() const { return m_summary; }
    // Shown when bf16 would run on a CPU without fast bf16 products (runtime_info.h).
    QLabel* precisionHint() const { return m_precisionHint; }

Q_SIGNALS:
    // A value the form cannot use (a learning rate that is not a positive number); the text says
    // which field and how to fix it. The project keeps its previous value.
    void problem(const QString& message);

private:
    void commit();
    void updateSummary();
    void updatePrecisionHint();
    // Processes for a CPU run, GPUs for a CUDA one.
    void updateRankRows();
    bool trainsOnCuda() const;
    ProjectState* m_state;
    bool m_loading = false;
    QComboBox* m_precision;
    QComboBox* m_device;
    QSpinBox* m_batch;
    QSpinBox* m_accum;
    QSpinBox* m_epochs;
    QSpinBox* m_maxSteps;
    QLineEdit* m_lr;
    QComboBox* m_scheduler;
    QSpinBox* m_warmup;
    QComboBox* m_optimizer;
    QSpinBox* m_evalEvery;
    QSpinBox* m_saveEvery;
    QSpinBox* m_seed;
    QCheckBox* m_packed;
    QSpinBox* m_threads;
    QSpinBox* m_processes;
    QListWidget* m_gpus = nullptr;
    class QFormLayout* m_form;
    QLabel* m_summary;
    QLabel* m_precisionHint;
};

}  // namespace peft::ui
