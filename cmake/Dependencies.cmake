# System dependencies (Debian 12 packages, installed by deploy/local/deps.sh).
set(THREADS_PREFER_PTHREAD_FLAG ON)
find_package(Threads REQUIRED)
find_package(Boost 1.74 REQUIRED)                 # Boost::headers (Beast, Asio)
find_package(OpenSSL REQUIRED)                    # OpenSSL::Crypto
find_package(RapidJSON CONFIG REQUIRED)           # ${RAPIDJSON_INCLUDE_DIRS}
find_package(prometheus-cpp CONFIG REQUIRED)      # prometheus-cpp::core
find_package(Catch2 2 CONFIG REQUIRED)            # Catch2::Catch2WithMain
find_package(CURL REQUIRED)                       # CURL::libcurl
find_package(PkgConfig REQUIRED)
pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(RDKAFKA REQUIRED IMPORTED_TARGET rdkafka++)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)
pkg_check_modules(LIBJWT REQUIRED IMPORTED_TARGET libjwt)
include(Catch)

add_library(rapidjson INTERFACE)
target_include_directories(rapidjson SYSTEM INTERFACE ${RAPIDJSON_INCLUDE_DIRS})
# RapidJSON 1.1: std::string support, and no recursion into operator== pitfalls.
target_compile_definitions(rapidjson INTERFACE RAPIDJSON_HAS_STDSTRING=1)
# SSE2 (part of every x86-64 CPU) for RapidJSON's whitespace skipping and
# string copying/escaping: the webhook parse spent a third of its time copying
# strings a byte at a time. Not in the fuzz build: the SIMD loads read whole
# aligned 16-byte blocks past a string's end, which AddressSanitizer reports.
# One definition for every target, so no two units see different inline code.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$" AND NOT LEADPIPE_FUZZ)
  target_compile_definitions(rapidjson INTERFACE RAPIDJSON_SSE2=1)
endif()

# mimalloc (Debian libmimalloc-dev) in place of glibc's malloc for the
# executables that call leadpipe_use_mimalloc(): the ingest gateway's webhook
# allocates in bursts on one thread and frees on another (librdkafka's poll
# thread), which glibc serves from its locked arenas; see bench/README.md
# (Ingest). Linked, not preloaded: the executable's first library defining
# malloc/free/new/delete wins for every library it loads. Not in the fuzz
# build (ASan brings its own allocator).
option(LEADPIPE_MIMALLOC "Link mimalloc into the executables that opt in" ON)
if(LEADPIPE_MIMALLOC AND NOT LEADPIPE_FUZZ)
  find_package(mimalloc 2.0 CONFIG REQUIRED)
endif()
function(leadpipe_use_mimalloc target)
  if(LEADPIPE_MIMALLOC AND NOT LEADPIPE_FUZZ)
    target_link_libraries(${target} PRIVATE mimalloc)
    target_compile_definitions(${target} PRIVATE LEADPIPE_WITH_MIMALLOC=1)
  endif()
endfunction()

find_library(PHONENUMBER_LIB phonenumber REQUIRED)
find_path(PHONENUMBER_INCLUDE phonenumbers/phonenumberutil.h REQUIRED)
add_library(phonenumber UNKNOWN IMPORTED)
set_target_properties(phonenumber PROPERTIES
  IMPORTED_LOCATION ${PHONENUMBER_LIB}
  INTERFACE_INCLUDE_DIRECTORIES ${PHONENUMBER_INCLUDE})

# Asio/Beast without Boost.System's compiled library; coroutines on GCC 12.
add_library(asio INTERFACE)
target_link_libraries(asio INTERFACE Boost::headers Threads::Threads)
target_compile_definitions(asio INTERFACE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
