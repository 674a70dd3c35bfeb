// Write errors that mean "no room to write": a full disk (ENOSPC), a used-up quota (EDQUOT) or a
// file-size limit (EFBIG, `ulimit -f`). One wording for every writer, so the user reads the same fix.
#pragma once
#include <cerrno>
#include <string>

namespace peft {

inline bool isNoRoomError(int err) { return err == ENOSPC || err == EDQUOT || err == EFBIG; }

// What ran out, for a message: "the disk is full", ... Empty for other errors.
inline std::string noRoomReason(int err) {
    if (err == ENOSPC) return "the disk is full";
    if (err == EDQUOT) return "the disk quota is used up";
    if (err == EFBIG) return "the file size limit of this process (ulimit -f) was reached";
    return {};
}

// "The disk is full: free space there, or <elsewhere>." (elsewhere: e.g. "pick another folder").
inline std::string noRoomHint(int err, const std::string& elsewhere) {
    std::string why = noRoomReason(err);
    if (why.empty()) return {};
    why[0] = static_cast<char>(why[0] - 'a' + 'A');
    const std::string fix = err == EFBIG ? "raise the limit" : "free space there";
    return why + ": " + fix + ", or " + elsewhere + ".";
}

}  // namespace peft
