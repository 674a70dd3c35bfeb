// Helpers for the QtTest suites: fixture paths and a scratch folder.
#pragma once
#include <QDir>
#include <QString>
#include <QTemporaryDir>

#include <cstdlib>

namespace peft::uitest {

inline QString fixture(const QString& rel) {
    const char* f = std::getenv("PEFT_FIXTURES");
    return QDir(f ? QString::fromLocal8Bit(f) : QStringLiteral("../shared/fixtures")).filePath(rel);
}

}  // namespace peft::uitest
