# Runs the real `relanced check-config FILE` and checks its exit code and output.
#   cmake -DRELANCED=path/to/relanced -DCASE=good|bad -DFILE=config.yaml -P check_config_binary.cmake
unset(ENV{RELANCE_TEST_UNSET_LEVEL})  # bad.yaml needs it unset
execute_process(COMMAND "${RELANCED}" check-config "${FILE}"
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)

if(CASE STREQUAL "good")
  if(NOT code EQUAL 0)
    message(FATAL_ERROR "check-config on a valid file exited ${code}, expected 0\nstderr:\n${err}")
  endif()
  if(NOT out STREQUAL "${FILE}: ok\n" OR NOT err STREQUAL "")
    message(FATAL_ERROR "unexpected output\nstdout:\n${out}\nstderr:\n${err}")
  endif()
else()
  if(NOT code EQUAL 78)
    message(FATAL_ERROR "check-config on an invalid file exited ${code}, expected 78\nstderr:\n${err}")
  endif()
  if(NOT out STREQUAL "")
    message(FATAL_ERROR "stdout should be empty, got:\n${out}")
  endif()
  # Count newlines (the messages hold ';', which CMake lists would split on).
  string(REGEX REPLACE "[^\n]" "" newlines "${err}")
  string(LENGTH "${newlines}" count)
  if(NOT count EQUAL 5)
    message(FATAL_ERROR "expected 5 problems, one a line, got ${count}:\n${err}")
  endif()
  foreach(expected
          "${FILE}:3: http.prot: unknown key; did you mean http.port?"
          "${FILE}:4: http.port: 70000 is above the maximum 65535"
          "${FILE}:9: log.level: environment variable RELANCE_TEST_UNSET_LEVEL is not set")
    string(FIND "${err}" "${expected}" at)
    if(at EQUAL -1)
      message(FATAL_ERROR "stderr lacks '${expected}':\n${err}")
    endif()
  endforeach()
endif()

# Usage errors exit 64 with the usage on stderr.
execute_process(COMMAND "${RELANCED}" --no-such-option
                RESULT_VARIABLE code OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 30)
if(NOT code EQUAL 64 OR NOT err MATCHES "usage:")
  message(FATAL_ERROR "an unknown option exited ${code}, expected 64 with usage\n${err}")
endif()
