// Includes qcustomplot.h in a QT_NO_KEYWORDS build: its header says signals/slots/emit/foreach,
// so map them to the Q_ macros for the duration of the include only.
#pragma once
#define signals Q_SIGNALS
#define slots Q_SLOTS
#define emit Q_EMIT
#define foreach Q_FOREACH
#include <qcustomplot.h>
#undef signals
#undef slots
#undef emit
#undef foreach
