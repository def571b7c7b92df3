# libedgerun.so (the C ABI, the only stable interface), the Python package, and the install tree:
# headers, library, CMake package config (find_package(edgerun) -> edgerun::edgerun) and
# pkg-config file.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

add_library(edgerun_c SHARED src/capi/c_api.cpp)
set_target_properties(edgerun_c PROPERTIES
  OUTPUT_NAME edgerun
  EXPORT_NAME edgerun
  VERSION ${PROJECT_VERSION}
  SOVERSION ${PROJECT_VERSION_MAJOR})
target_include_directories(edgerun_c
  PUBLIC $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
target_link_libraries(edgerun_c PRIVATE edgerun_core)
# Only er_* symbols leave the library; everything C++ inside stays private to it.
target_link_options(edgerun_c PRIVATE
  "LINKER:--version-script=${CMAKE_CURRENT_SOURCE_DIR}/src/capi/exports.map"
  "LINKER:--no-undefined")
set_target_properties(edgerun_c PROPERTIES LINK_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/src/capi/exports.map)

install(TARGETS edgerun_c EXPORT edgerunTargets
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(FILES include/edgerun/edgerun.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/edgerun)
install(EXPORT edgerunTargets NAMESPACE edgerun:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)
configure_package_config_file(cmake/edgerunConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/edgerunConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/edgerunConfigVersion.cmake
  COMPATIBILITY SameMajorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/edgerunConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/edgerunConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/edgerun)
# The .pc file finds its prefix relative to itself, so an install moved with --prefix still works.
file(RELATIVE_PATH EDGERUN_PC_PREFIX_FROM_PCDIR "${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig"
     "${CMAKE_INSTALL_PREFIX}")
string(REGEX REPLACE "/$" "" EDGERUN_PC_PREFIX_FROM_PCDIR "${EDGERUN_PC_PREFIX_FROM_PCDIR}")
configure_file(cmake/edgerun.pc.in ${CMAKE_CURRENT_BINARY_DIR}/edgerun.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/edgerun.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

# The Python package: edgerun/__init__.py (pure Python) over the _edgerun extension, laid out in
# the build tree as an importable package (PYTHONPATH=build/python). Debian's /usr/bin/python3 is
# the interpreter it is built for. An extension built with sanitizers cannot load into an
# uninstrumented interpreter, so sanitizer builds leave it out.
option(EDGERUN_PYTHON "Build the Python package" ON)
if(EDGERUN_PYTHON AND NOT EDGERUN_SANITIZE)
  set(PYTHON_EXECUTABLE /usr/bin/python3 CACHE FILEPATH "Python the package is built for")
  find_package(pybind11 CONFIG REQUIRED)
  pybind11_add_module(_edgerun python/edgerun_module.cpp)
  target_include_directories(_edgerun PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(_edgerun PRIVATE edgerun_core)
  set_target_properties(_edgerun PROPERTIES
    LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/python/edgerun)
  configure_file(python/edgerun/__init__.py ${CMAKE_CURRENT_BINARY_DIR}/python/edgerun/__init__.py
                 COPYONLY)
endif()
