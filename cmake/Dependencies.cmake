# Finds LibTorch, spdlog, nlohmann_json and PCRE2. Each may come from Debian packages or,
# for a CUDA build against a Python torch install, from CMAKE_PREFIX_PATH / PEFT_DEPS_ROOT
# (a folder of unpacked Debian -dev packages, used on machines without apt).
set(PEFT_DEPS_ROOT "" CACHE PATH "Optional root of unpacked header packages (usr/include inside)")
if(PEFT_DEPS_ROOT)
  # These headers (spdlog 1.10 + its fmt 9) must win over the fmt that newer torch releases
  # ship in their own include folder: directory-level include dirs come before linked targets'.
  include_directories(SYSTEM "${PEFT_DEPS_ROOT}/usr/include")
  list(APPEND CMAKE_PREFIX_PATH "${PEFT_DEPS_ROOT}/usr" "${PEFT_DEPS_ROOT}/usr/lib/x86_64-linux-gnu/cmake"
       "${PEFT_DEPS_ROOT}/usr/share/cmake")
endif()

find_package(Torch REQUIRED)
message(STATUS "LibTorch ${Torch_VERSION} from ${TORCH_INSTALL_PREFIX}")
# CUDA builds (a Python torch install with c10_cuda) report the caching allocator's peak memory.
option(PEFT_CUDA_MEMORY_STATS "Report CUDA peak memory (needs a LibTorch with c10_cuda)" ON)
if(PEFT_CUDA_MEMORY_STATS AND C10_CUDA_LIBRARY)
  message(STATUS "CUDA memory statistics from ${C10_CUDA_LIBRARY}")
  add_compile_definitions(PEFT_CUDA_MEMORY_STATS=1)
endif()

find_package(Threads REQUIRED)

# spdlog: use the packaged library when its config is found; otherwise header-only from PEFT_DEPS_ROOT.
find_package(spdlog CONFIG QUIET)
if(NOT spdlog_FOUND)
  find_path(SPDLOG_INCLUDE_DIR spdlog/spdlog.h HINTS "${PEFT_DEPS_ROOT}/usr/include" REQUIRED)
  add_library(peft_spdlog INTERFACE)
  target_include_directories(peft_spdlog SYSTEM INTERFACE "${SPDLOG_INCLUDE_DIR}")
  target_compile_definitions(peft_spdlog INTERFACE SPDLOG_HEADER_ONLY SPDLOG_FMT_EXTERNAL FMT_HEADER_ONLY)
  set(PEFT_SPDLOG peft_spdlog)
else()
  set(PEFT_SPDLOG spdlog::spdlog)
endif()

find_package(nlohmann_json 3 CONFIG QUIET)
if(NOT nlohmann_json_FOUND)
  find_path(NLOHMANN_INCLUDE_DIR nlohmann/json.hpp HINTS "${PEFT_DEPS_ROOT}/usr/include" REQUIRED)
  add_library(peft_json INTERFACE)
  target_include_directories(peft_json SYSTEM INTERFACE "${NLOHMANN_INCLUDE_DIR}")
  set(PEFT_JSON peft_json)
else()
  set(PEFT_JSON nlohmann_json::nlohmann_json)
endif()

find_path(PCRE2_INCLUDE_DIR pcre2.h HINTS "${PEFT_DEPS_ROOT}/usr/include" REQUIRED)
find_library(PCRE2_LIBRARY NAMES pcre2-8 libpcre2-8.so.0 HINTS "${PEFT_DEPS_ROOT}/usr/lib/x86_64-linux-gnu" REQUIRED)
add_library(peft_pcre2 INTERFACE)
target_include_directories(peft_pcre2 SYSTEM INTERFACE "${PCRE2_INCLUDE_DIR}")
target_link_libraries(peft_pcre2 INTERFACE "${PCRE2_LIBRARY}")
target_compile_definitions(peft_pcre2 INTERFACE PCRE2_CODE_UNIT_WIDTH=8)
