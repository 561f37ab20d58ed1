"""pvbatch_check.py - ParaView opens jacobi's XDMF sidecar and sees the HDF5 field exactly.

usage: pvbatch pvbatch_check.py FILE.xmf FILE.h5

Reads FILE.xmf with each of ParaView's XDMF readers (the legacy XDMFReader and
Xdmf3ReaderS, which OpenDataFile picks for .xmf), and compares the point array
"temperature" (and "owner", if the file has it), value for value, with
/temperature read by h5py; also checks the grid's extent. Exit 0 if all equal.
Run by CTest (tests/CMakeLists.txt) on a file the test has just written.
"""
import os
import sys

import h5py
import numpy
from paraview import servermanager
from paraview.simple import Xdmf3ReaderS, XDMFReader
from vtk.util.numpy_support import vtk_to_numpy


def check(reader_name, reader, fields, shape):
    reader.UpdatePipeline()
    data = servermanager.Fetch(reader)
    dims = tuple(data.GetDimensions())
    if dims != (shape[1], shape[0], 1):
        return f"{reader_name}: grid dimensions {dims}, expected {(shape[1], shape[0], 1)}"
    for name, want in fields.items():
        array = data.GetPointData().GetArray(name)
        if array is None:
            return f"{reader_name}: no point array {name!r}"
        got = vtk_to_numpy(array).reshape(shape)
        if not numpy.array_equal(got, want):
            bad = numpy.argwhere(got != want)[0]
            return (f"{reader_name}: {name}[{bad[0]}][{bad[1]}] is {got[tuple(bad)]!r}, "
                    f"the HDF5 file holds {want[tuple(bad)]!r}")
    return None


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    xmf, h5 = (os.path.abspath(p) for p in sys.argv[1:])
    with h5py.File(h5, "r") as f:
        fields = {name: f[name][...] for name in ("temperature", "owner") if name in f}
    shape = fields["temperature"].shape
    failures = []
    for reader_name, make in (("XDMFReader", lambda: XDMFReader(FileNames=[xmf])),
                              ("Xdmf3ReaderS", lambda: Xdmf3ReaderS(FileName=[xmf]))):
        problem = check(reader_name, make(), fields, shape)
        if problem:
            failures.append(problem)
        else:
            print(f"ok {reader_name}: {', '.join(fields)} equal to the HDF5 file, "
                  f"{shape[0]} x {shape[1]} points")
    for problem in failures:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
