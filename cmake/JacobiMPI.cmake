# JacobiMPI.cmake - find MPI and parallel HDF5 as one consistent set, and the launcher that
# belongs to that MPI.
#
# Debian (and many clusters) install Open MPI and MPICH side by side, with mpicc, h5pcc and
# mpiexec chosen by the alternatives system. FindMPI then happily pairs MPICH's library with
# Open MPI's mpiexec: every N-rank test runs as N independent 1-rank jobs (issue 19). So:
#   -DJACOBI_MPI=openmpi|mpich  picks that MPI's mpicc, h5pcc and mpiexec by their Debian names
#                               (mpicc.mpich, h5pcc.mpich, mpiexec.mpich); empty: the defaults;
#   the MPI compiled against is read from mpi.h (OPEN_MPI or MPICH_VERSION), the launcher's from
#   its --version; a launcher of the other MPI is replaced by the right one if it is installed
#   (mpiexec.<mpi> beside it or on PATH), otherwise configuring stops with what to pass;
#   a parallel HDF5 built for the other MPI (Debian's path names it) stops configuring too.
# Sets JACOBI_MPI_FLAVOR (openmpi, mpich or unknown) and MPIEXEC_EXECUTABLE.

set(JACOBI_MPI "" CACHE STRING "MPI to build against: openmpi, mpich, or empty for the default")
set_property(CACHE JACOBI_MPI PROPERTY STRINGS "" openmpi mpich)
if(JACOBI_MPI)
  if(NOT JACOBI_MPI MATCHES "^(openmpi|mpich)$")
    message(FATAL_ERROR "jacobi: JACOBI_MPI must be openmpi, mpich or empty, got '${JACOBI_MPI}'")
  endif()
  foreach(pair "MPI_C_COMPILER;mpicc" "HDF5_C_COMPILER_EXECUTABLE;h5pcc" "MPIEXEC_EXECUTABLE;mpiexec")
    list(GET pair 0 var)
    list(GET pair 1 tool)
    if(NOT ${var})
      find_program(${var} NAMES ${tool}.${JACOBI_MPI})
      if(NOT ${var})
        message(FATAL_ERROR "jacobi: JACOBI_MPI=${JACOBI_MPI} but ${tool}.${JACOBI_MPI} is not "
                            "installed (Debian: scripts/install-deps.sh --with-mpich), or pass "
                            "-D${var}=PATH")
      endif()
    endif()
  endforeach()
endif()

find_package(MPI REQUIRED COMPONENTS C)

# Which MPI mpi.h is: compiled, not run.
include(CheckSymbolExists)
set(CMAKE_REQUIRED_INCLUDES ${MPI_C_INCLUDE_DIRS})
check_symbol_exists(OPEN_MPI mpi.h JACOBI_MPI_IS_OPENMPI)
check_symbol_exists(MPICH_VERSION mpi.h JACOBI_MPI_IS_MPICH)
unset(CMAKE_REQUIRED_INCLUDES)
if(JACOBI_MPI_IS_OPENMPI)
  set(JACOBI_MPI_FLAVOR openmpi)
elseif(JACOBI_MPI_IS_MPICH)
  set(JACOBI_MPI_FLAVOR mpich)
else()
  set(JACOBI_MPI_FLAVOR unknown)
endif()

# Which MPI a launcher belongs to, from its --version: Open MPI's says "(Open MPI)" or
# "(OpenRTE)", MPICH's Hydra says "HYDRA".
function(jacobi_launcher_flavor launcher var)
  execute_process(COMMAND ${launcher} --version OUTPUT_VARIABLE out ERROR_VARIABLE out
                  RESULT_VARIABLE rc TIMEOUT 30)
  if(out MATCHES "Open MPI|OpenRTE")
    set(${var} openmpi PARENT_SCOPE)
  elseif(out MATCHES "HYDRA")
    set(${var} mpich PARENT_SCOPE)
  else()
    set(${var} unknown PARENT_SCOPE)
  endif()
endfunction()

if(NOT JACOBI_MPI_FLAVOR STREQUAL "unknown" AND MPIEXEC_EXECUTABLE)
  jacobi_launcher_flavor(${MPIEXEC_EXECUTABLE} launcher_flavor)
  if(NOT launcher_flavor STREQUAL JACOBI_MPI_FLAVOR)
    get_filename_component(launcher_dir ${MPIEXEC_EXECUTABLE} DIRECTORY)
    find_program(jacobi_paired_mpiexec NAMES mpiexec.${JACOBI_MPI_FLAVOR}
                 HINTS ${launcher_dir} NO_CACHE)
    if(jacobi_paired_mpiexec)
      jacobi_launcher_flavor(${jacobi_paired_mpiexec} paired_flavor)
    endif()
    if(jacobi_paired_mpiexec AND paired_flavor STREQUAL JACOBI_MPI_FLAVOR)
      message(STATUS "jacobi: ${MPIEXEC_EXECUTABLE} is ${launcher_flavor}'s launcher, not "
                     "${JACOBI_MPI_FLAVOR}'s: using ${jacobi_paired_mpiexec}")
      set(MPIEXEC_EXECUTABLE ${jacobi_paired_mpiexec} CACHE FILEPATH "Executable for running MPI programs." FORCE)
    else()
      message(FATAL_ERROR "jacobi: built against ${JACOBI_MPI_FLAVOR} (${MPI_C_LIBRARIES}), "
                          "but the launcher ${MPIEXEC_EXECUTABLE} is ${launcher_flavor}'s: its "
                          "N-rank runs would be N separate 1-rank jobs. Pass "
                          "-DMPIEXEC_EXECUTABLE=<${JACOBI_MPI_FLAVOR}'s mpiexec>.")
    endif()
  endif()
  message(STATUS "jacobi: MPI is ${JACOBI_MPI_FLAVOR}, launcher ${MPIEXEC_EXECUTABLE}")
else()
  message(WARNING "jacobi: cannot tell which MPI mpi.h belongs to; the launcher "
                  "${MPIEXEC_EXECUTABLE} is not checked against it")
endif()

# After find_package(HDF5): a parallel HDF5 must be built for the same MPI. Debian keeps each
# in a directory named after its MPI (.../hdf5/openmpi, .../hdf5/mpich).
function(jacobi_check_hdf5_mpi)
  if(NOT HDF5_IS_PARALLEL OR JACOBI_MPI_FLAVOR STREQUAL "unknown")
    return()
  endif()
  foreach(other openmpi mpich)
    if(NOT other STREQUAL JACOBI_MPI_FLAVOR AND "${HDF5_C_LIBRARIES};${HDF5_C_INCLUDE_DIRS}"
                                                MATCHES "/hdf5/${other}(/|;|$)")
      message(FATAL_ERROR "jacobi: MPI is ${JACOBI_MPI_FLAVOR} but HDF5 (${HDF5_C_LIBRARIES}) "
                          "is built for ${other}. Pass -DJACOBI_MPI=${JACOBI_MPI_FLAVOR} on a "
                          "fresh build directory, or -DHDF5_C_COMPILER_EXECUTABLE=h5pcc of "
                          "${JACOBI_MPI_FLAVOR}'s HDF5 (Debian: libhdf5-${JACOBI_MPI_FLAVOR}-dev).")
    endif()
  endforeach()
endfunction()
