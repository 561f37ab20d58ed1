# JacobiInstall.cmake - the part of `cmake --install` that names the installed paths, run at
# install time so that `--prefix` and DESTDIR are honoured. Expects JACOBI_SOURCE (the source
# tree) and JACOBI_MAN_TOOL (the built jacobi_man), set by the install(CODE) before it.
#   share/jacobi/configs/*.toml  the examples, their comments naming the installed paths
#   share/jacobi/jacobi.sbatch   the batch script, running the installed jacobi by default
#   share/man/man1/jacobi.1      the man page, from jacobi --help and the config schema
set(share "${CMAKE_INSTALL_PREFIX}/share/jacobi")
set(dest "$ENV{DESTDIR}${share}")

function(jacobi_install_text from to text)
  message(STATUS "Installing: ${to}")
  file(WRITE "${to}" "${text}")
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${to}")
  set(CMAKE_INSTALL_MANIFEST_FILES "${CMAKE_INSTALL_MANIFEST_FILES}" PARENT_SCOPE)
endfunction()

file(GLOB configs "${JACOBI_SOURCE}/configs/*.toml")
file(MAKE_DIRECTORY "${dest}/configs")
foreach(config IN LISTS configs)
  get_filename_component(name "${config}" NAME)
  file(READ "${config}" text)
  # "jacobi configs/plate.toml" in a comment: the installed file's own path
  string(REPLACE "configs/" "${share}/configs/" text "${text}")
  jacobi_install_text("${config}" "${dest}/configs/${name}" "${text}")
endforeach()

file(READ "${JACOBI_SOURCE}/scripts/jacobi.sbatch" text)
string(REPLACE "JACOBI=\${JACOBI:-jacobi}" "JACOBI=\${JACOBI:-${CMAKE_INSTALL_PREFIX}/bin/jacobi}"
       text "${text}")
jacobi_install_text("" "${dest}/jacobi.sbatch" "${text}")
file(CHMOD "${dest}/jacobi.sbatch" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
     GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

set(man_dir "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/man/man1")
file(MAKE_DIRECTORY "${man_dir}")
message(STATUS "Installing: ${man_dir}/jacobi.1")
execute_process(COMMAND "${JACOBI_MAN_TOOL}" "${share}" "${man_dir}/jacobi.1"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "jacobi: writing the man page failed (${rc})")
endif()
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${man_dir}/jacobi.1")
