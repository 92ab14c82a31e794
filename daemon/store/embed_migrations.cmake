# Turns schemas/sql/<backend>/NNNN_name.sql into a C++ file defining <function>(), so that the
# binary carries its schema and never looks for files at run time.
# Usage: cmake -DSQL_DIR=... -DOUTPUT=... -DFUNCTION=sqlite_migrations -P embed_migrations.cmake
file(GLOB sql_files RELATIVE "${SQL_DIR}" "${SQL_DIR}/*.sql")
list(SORT sql_files)
set(delimiter "relance_sql")
set(entries "")
set(expected 1)
foreach(file IN LISTS sql_files)
  if(NOT file MATCHES "^([0-9][0-9][0-9][0-9])_[a-z0-9_]+\\.sql$")
    message(FATAL_ERROR "${SQL_DIR}/${file}: migration files are named NNNN_name.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  if(NOT version EQUAL expected)
    message(FATAL_ERROR "${SQL_DIR}/${file}: expected migration ${expected} next (no gaps, no duplicates)")
  endif()
  math(EXPR expected "${expected} + 1")
  file(READ "${SQL_DIR}/${file}" sql)
  string(FIND "${sql}" ")${delimiter}\"" clash)
  if(NOT clash EQUAL -1)
    message(FATAL_ERROR "${SQL_DIR}/${file} contains the raw-string delimiter ${delimiter}")
  endif()
  string(REGEX REPLACE "\\.sql$" "" name "${file}")
  string(APPEND entries "    {${version}, \"${name}\", R\"${delimiter}(${sql})${delimiter}\"},\n")
endforeach()
if(expected EQUAL 1)
  message(FATAL_ERROR "${SQL_DIR}: no migrations")
endif()
set(content "// Generated from ${SQL_DIR} by embed_migrations.cmake; do not edit.
#include \"store/migrations.hpp\"

namespace relance::store {

std::span<const Migration> ${FUNCTION}() {
  static constexpr Migration migrations[] = {
${entries}  };
  return migrations;
}

}  // namespace relance::store
")
# Rewrite only on change, so that an unchanged schema does not recompile anything.
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" previous)
  if(previous STREQUAL content)
    return()
  endif()
endif()
file(WRITE "${OUTPUT}" "${content}")
