# The pure folders (core, raft, gossip, api — outside their io/) must not reach
# for I/O libraries, threads or a clock (DESIGN.md). Run at configure time by
# the top-level CMakeLists.txt and again on every build by the `purity` target:
#   cmake -DSOURCE_DIR=<repo> -P cmake/purity.cmake
if(NOT SOURCE_DIR)
  set(SOURCE_DIR ${CMAKE_SOURCE_DIR})
endif()

set(_pure_dirs core raft gossip api)
set(_forbidden
  "#include[ \t]*[<\"](boost/asio|boost/beast|asio|rocksdb/|openssl/|thread>|mutex>|future>|condition_variable>)"
  "(steady_clock|system_clock|high_resolution_clock)::now"
  "(gettimeofday|clock_gettime)[ \t]*\\("
  "(^|[^_a-zA-Z0-9.>])(std::|::)?time[ \t]*\\([ \t]*(NULL|nullptr|0|&)")
set(_violations "")
foreach(_dir IN LISTS _pure_dirs)
  file(GLOB_RECURSE _files "${SOURCE_DIR}/${_dir}/*.h" "${SOURCE_DIR}/${_dir}/*.cc")
  foreach(_file IN LISTS _files)
    file(RELATIVE_PATH _rel "${SOURCE_DIR}" "${_file}")
    if(_rel MATCHES "^[a-z]+/io/")
      continue()
    endif()
    file(STRINGS "${_file}" _lines)
    set(_n 0)
    foreach(_line IN LISTS _lines)
      math(EXPR _n "${_n} + 1")
      foreach(_re IN LISTS _forbidden)
        if(_line MATCHES "${_re}")
          string(APPEND _violations "  ${_rel}:${_n}: ${_line}\n")
        endif()
      endforeach()
    endforeach()
  endforeach()
endforeach()
if(_violations)
  message(FATAL_ERROR "pure folders must not use I/O libraries, threads or clocks "
                      "(move this code under io/):\n${_violations}")
endif()
