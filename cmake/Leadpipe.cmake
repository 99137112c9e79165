# Helpers shared by every lib, service and test.

# -Wno-mismatched-new-delete: GCC 12 flags every inlined Asio coroutine frame
# (awaitable_frame_base's recycling operator new/delete pair) — a known false
# positive that would otherwise bury real warnings.
set(LEADPIPE_WARNINGS -Wall -Wextra -Wno-missing-field-initializers)
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
  list(APPEND LEADPIPE_WARNINGS -Wno-mismatched-new-delete)
endif()

# leadpipe_lib(<name> SOURCES ... DEPS ...)
#   A static library leadpipe_<name> with public headers under include/.
function(leadpipe_lib name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(leadpipe_${name} STATIC ${A_SOURCES})
  target_include_directories(leadpipe_${name} PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include)
  target_compile_options(leadpipe_${name} PRIVATE ${LEADPIPE_WARNINGS})
  target_link_libraries(leadpipe_${name} PUBLIC ${A_DEPS})
endfunction()

# leadpipe_test(<name> LABELS unit|pg|kafka|e2e SOURCES ... DEPS ...)
#   A Catch2 test executable; each TEST_CASE becomes a CTest test with the labels.
#   Tests labelled pg/kafka/e2e need the throwaway servers started by the
#   `infra` fixture (tests/CMakeLists.txt), which exports their addresses.
function(leadpipe_test name)
  cmake_parse_arguments(A "" "" "LABELS;SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  target_compile_options(${name} PRIVATE ${LEADPIPE_WARNINGS})
  target_link_libraries(${name} PRIVATE Catch2::Catch2WithMain ${A_DEPS})
  set(_props LABELS "${A_LABELS}")
  if(NOT "${A_LABELS}" STREQUAL "unit")
    list(APPEND _props FIXTURES_REQUIRED infra RESOURCE_LOCK infra_servers)
  endif()
  catch_discover_tests(${name}
    TEST_PREFIX "${name}:"
    PROPERTIES ${_props}
    # --warn NoTests: an entry whose name CMake mangled (e.g. a ";" in it) fails
    # instead of passing without running anything.
    EXTRA_ARGS --order decl --warn NoTests)
endfunction()

# leadpipe_embed(<target> <symbol> FILES ...)
#   Compiles files into the target as `leadpipe::embedded::<symbol>()`, a list of
#   {name, contents}. Schemas and migrations travel inside the binaries, so a
#   deployed service never depends on the source tree's layout.
function(leadpipe_embed target symbol)
  cmake_parse_arguments(A "" "" "FILES" ${ARGN})
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/embedded_${symbol}.cpp)
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${_out} -DSYMBOL=${symbol} "-DFILES=${A_FILES}"
            -P ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    DEPENDS ${A_FILES} ${PROJECT_SOURCE_DIR}/cmake/embed.cmake
    COMMENT "Embedding ${symbol}"
    VERBATIM)
  target_sources(${target} PRIVATE ${_out})
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/cmake/include)
endfunction()
