# Helpers that give every target the same warnings, include root and test
# labels. Our code builds with -Wall -Wextra -Werror; third-party headers are
# system includes and do not trip it.

# g++ 12 at -O2 reports false positives for std::string copies
# (-Warray-bounds, -Wstringop-overflow/overread, -Wrestrict; GCC bugs 105329, 105651).
set(CAIRN_WARNINGS -Wall -Wextra -Werror -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND CAIRN_WARNINGS -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread -Wno-restrict)
endif()

# cairn_library(NAME <target> SOURCES ... [DEPS ...] [IO])
# IO marks a target that may include Asio/Beast/OpenSSL/RocksDB: it reuses the
# one precompiled header of cairn_core_io.
function(cairn_library)
  cmake_parse_arguments(ARG "IO" "NAME" "SOURCES;DEPS" ${ARGN})
  add_library(${ARG_NAME} STATIC ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PUBLIC ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${ARG_NAME} PUBLIC ${ARG_DEPS})
  if(ARG_IO AND NOT ARG_NAME STREQUAL "cairn_core_io")
    target_precompile_headers(${ARG_NAME} REUSE_FROM cairn_core_io)
  endif()
endfunction()

# cairn_test(NAME <target> SOURCES ... [DEPS ...] LABEL unit|sim|integration|compat
#            [TIMEOUT s] [ARGS ...])
function(cairn_test)
  cmake_parse_arguments(ARG "" "NAME;LABEL;TIMEOUT" "SOURCES;DEPS;ARGS" ${ARGN})
  add_executable(${ARG_NAME} ${ARG_SOURCES})
  target_include_directories(${ARG_NAME} PRIVATE ${PROJECT_SOURCE_DIR})
  target_compile_options(${ARG_NAME} PRIVATE ${CAIRN_WARNINGS})
  target_link_libraries(${ARG_NAME} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${ARG_NAME} COMMAND ${ARG_NAME} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${ARG_NAME} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT})
endfunction()

# cairn_server_binary(<name> FROM <exe> [EXCLUDE files...] [SOURCES files...] [DEPS libs...])
# A second executable built from <exe>'s sources (less EXCLUDE, plus SOURCES)
# and libraries (plus DEPS), read at generate time so that later additions to
# <exe> carry over. Used for cairn-server, the server half of `cairn`
# (cli/server_loader.h); <exe> depends on it, so building <exe> builds both.
function(cairn_server_binary NAME)
  cmake_parse_arguments(ARG "" "FROM" "EXCLUDE;SOURCES;DEPS" ${ARGN})
  set(_sources "$<TARGET_PROPERTY:${ARG_FROM},SOURCES>")
  foreach(f ${ARG_EXCLUDE})
    string(REPLACE "." "[.]" f "${f}")
    set(_sources "$<FILTER:${_sources},EXCLUDE,(^|/)${f}$>")
  endforeach()
  add_executable(${NAME} ${_sources} ${ARG_SOURCES})
  target_include_directories(${NAME} PRIVATE "$<TARGET_PROPERTY:${ARG_FROM},INCLUDE_DIRECTORIES>")
  target_compile_options(${NAME} PRIVATE "$<TARGET_PROPERTY:${ARG_FROM},COMPILE_OPTIONS>")
  target_link_libraries(${NAME} PRIVATE "$<TARGET_PROPERTY:${ARG_FROM},LINK_LIBRARIES>" ${ARG_DEPS})
  add_dependencies(${ARG_FROM} ${NAME})
endfunction()
