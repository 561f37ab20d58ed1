"""pvbatch_series_check.py - ParaView plays a transient's series (issue 31): its XDMF temporal
collection opens with each of ParaView's XDMF readers (the legacy XDMFReader, "XDMF Reader" in
the GUI's list; Xdmf3ReaderS; and whatever OpenDataFile picks for .xmf), each of which reports
one time step per snapshot at /series/time's values, and the field at each time is /series/T's
snapshot, value for value (read with h5py). The sidecar names each snapshot's
/series/frames/T<k>, a virtual dataset over /series/T, which both XDMF libraries read.

usage: pvbatch pvbatch_series_check.py SERIES.xmf SERIES.h5   (CTest: under scripts/headless.sh)
Exit 0 if all hold; prints FAIL and the reason otherwise.
"""
import sys

import h5py
import numpy
from paraview import servermanager
from paraview.simple import OpenDataFile, XDMFReader, Xdmf3ReaderS
from vtk.util.numpy_support import vtk_to_numpy


def leaf(data):
    if not data.IsA("vtkCompositeDataSet"):
        return data
    it = data.NewIterator()
    it.InitTraversal()
    return it.GetCurrentDataObject()


def check(reader_name, make, xmf, time, T):
    reader = make(xmf)
    steps = list(reader.TimestepValues)
    if len(steps) != len(time) or not numpy.allclose(steps, time, rtol=1e-12, atol=0):
        return f"{reader_name}: time steps {steps}, /series/time holds {list(time)}"
    for k, t in enumerate(time):
        reader.UpdatePipeline(t)
        grid = leaf(servermanager.Fetch(reader))
        array = grid.GetPointData().GetArray("T")
        if array is None:
            return f"{reader_name}: no point array T at t = {t}"
        got = vtk_to_numpy(array).reshape(T.shape[1:])
        if not numpy.array_equal(got, T[k]):
            return f"{reader_name}: the field at t = {t} is not /series/T[{k}]"
    return None


def main(xmf, h5):
    with h5py.File(h5, "r") as f:
        time = f["/series/time"][...]
        T = f["/series/T"][...]
    readers = (("XDMFReader", lambda x: XDMFReader(FileNames=[x])),
               ("Xdmf3ReaderS", lambda x: Xdmf3ReaderS(FileName=[x])),
               ("OpenDataFile", OpenDataFile))
    for name, make in readers:
        why = check(name, make, xmf, time, T)
        if why is not None:
            print(f"FAIL {why}")
            return 1
        print(f"ok {name}: {len(time)} time steps, {time[0]} .. {time[-1]} s, fields equal")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
