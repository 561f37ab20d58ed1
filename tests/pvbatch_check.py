"""pvbatch_check.py - ParaView opens jacobi's XDMF sidecar, sees the HDF5 field exactly and
shows it the right way up.

usage: pvbatch pvbatch_check.py FILE.xmf FILE.h5 [VIEW_SCRIPT]
       (with VIEW_SCRIPT under an X display: CTest runs it through scripts/headless.sh, from
       another directory; without it, the readers alone, which need no display)

Reads FILE.xmf, by the path given (relative, from another directory, in the test), with each of
ParaView's XDMF readers (the legacy XDMFReader and Xdmf3ReaderS, which OpenDataFile picks for
.xmf), and compares the point array "temperature" (and "owner", if the file has it), value for
value, with /temperature read by h5py; checks the grid's extent and its geometry in metres: the
top-left ring point at (0, 0), spacing h (the file's `spacing`), row 0 (the top edge) at the
largest y. Then renders with VIEW_SCRIPT (scripts/paraview_view.py), in FILE's directory by
its bare name (which Xdmf3ReaderS alone cannot open), with both readers, and checks the
picture: the hot top edge at the top. With --owner, the map is categorical. Exit 0 if all hold.
"""
import importlib.util
import os
import sys
import tempfile

import h5py
import numpy
from paraview import servermanager
from paraview.simple import OpenDataFile, Xdmf3ReaderS, XDMFReader
from vtk.util.numpy_support import vtk_to_numpy
from vtkmodules.vtkIOImage import vtkPNGReader


def grids(data):
    """The leaf grids of what a reader gives: one image, or (two grids) a composite."""
    if not data.IsA("vtkCompositeDataSet"):
        return [data]
    leaves, it = [], data.NewIterator()
    it.InitTraversal()
    while not it.IsDoneWithTraversal():
        leaves.append(it.GetCurrentDataObject())
        it.GoToNextItem()
    return leaves


def check_grid(reader_name, grid_name, grid, fields, shape, first, h):
    """The grid's extent, values, and geometry: point 0 at `first`, rows going down by h."""
    dims = tuple(grid.GetDimensions())
    if dims != (shape[1], shape[0], 1):
        return (f"{reader_name}: grid {grid_name} has dimensions {dims}, expected "
                f"{(shape[1], shape[0], 1)}")
    for name, want in fields.items():
        array = grid.GetPointData().GetArray(name)
        if array is None:
            return f"{reader_name}: no point array {name!r} on grid {grid_name}"
        got = vtk_to_numpy(array).reshape(shape)
        if not numpy.array_equal(got, want):
            bad = numpy.argwhere(got != want)[0]
            return (f"{reader_name}: {name}[{bad[0]}][{bad[1]}] is {got[tuple(bad)]!r}, "
                    f"the HDF5 file holds {want[tuple(bad)]!r}")
    # Point k is row k // cols, column k % cols: row 0 (the top edge) must be at the top, in
    # metres (the readers hold coordinates in single or double precision: compare to 1e-6 h).
    rows, cols = shape
    got = [grid.GetPoint(0), grid.GetPoint((rows - 1) * cols), grid.GetPoint(cols - 1)]
    want = [first, (first[0], first[1] - (rows - 1) * h), (first[0] + (cols - 1) * h, first[1])]
    for g, w, what in zip(got, want, ("row 0, column 0", f"row {rows - 1}", f"column {cols - 1}")):
        if abs(g[0] - w[0]) > 1e-6 * h or abs(g[1] - w[1]) > 1e-6 * h:
            return (f"{reader_name}: grid {grid_name}: {what} at ({g[0]:.9g}, {g[1]:.9g}), "
                    f"expected ({w[0]:.9g}, {w[1]:.9g}) m (top-left ring point at (0, 0), "
                    f"spacing {h:.9g} m, rows going down)")
    return None


def check(reader_name, reader, fields, h):
    reader.UpdatePipeline()
    leaves = grids(servermanager.Fetch(reader))
    if len(leaves) != 1:
        return f"{reader_name}: {len(leaves)} grids, expected 1 (the plate)"
    return check_grid(reader_name, "plate", leaves[0], fields, fields["temperature"].shape,
                      (0.0, 0.0), h)


def picture(png):
    """(rgb as floats, rows top first; which pixels differ from the background, the top-left
    pixel's colour) of a PNG."""
    reader = vtkPNGReader()
    reader.SetFileName(png)
    reader.Update()
    image = reader.GetOutput()
    width, height, _ = image.GetDimensions()
    pixels = vtk_to_numpy(image.GetPointData().GetScalars()).reshape(height, width, -1)[::-1]
    rgb = pixels[:, :, :3].astype(float)
    return rgb, numpy.any(numpy.abs(rgb - rgb[0, 0]) > 8, axis=2)


def picture_rows(png):
    """The mean brightness of each image row (top first) over the plate's columns."""
    rgb, plate = picture(png)
    width = rgb.shape[1]
    rows = numpy.flatnonzero(plate[:, width // 3])  # a column left of the colour bar
    return rows, rgb[:, width // 3].sum(axis=1)


def bar_beside_plate(png):
    """None if the colour bar is drawn right of the plate and nothing covers the plate, else
    what is wrong. The plate is the box of the rows that column width / 4 crosses and the
    first run of columns that its second row crosses (the top edge is hot); a bar or its labels
    over it would leave background pixels (between the ticks' labels) inside that box."""
    rgb, used = picture(png)
    width = rgb.shape[1]
    rows = numpy.flatnonzero(used[:, width // 4])
    if len(rows) < 20:
        return f"no plate in column {width // 4}"
    cols = numpy.flatnonzero(used[rows[0] + 1, :])
    gaps = numpy.flatnonzero(numpy.diff(cols) > 1)  # the first run of columns: the plate's
    r0, r1, c0, c1 = rows[0], rows[-1], cols[0], cols[gaps[0]] if len(gaps) else cols[-1]
    if not used[r0 + 2:r1 - 1, c0 + 1:c1].all():
        holes = numpy.argwhere(~used[r0 + 2:r1 - 1, c0 + 1:c1])
        return (f"something covers the plate (rows {r0}-{r1}, columns {c0}-{c1}): background at "
                f"{len(holes)} points inside it, e.g. row {holes[0][0] + r0 + 2} column "
                f"{holes[0][1] + c0 + 1}")
    if not used[:, c1 + 2:].any():
        return f"no colour bar right of the plate (columns {c0}-{c1} of {width})"
    return None


def render(view, xmf, reader, png, extra=()):
    """paraview_view.py by the bare name in the file's directory; its exit status."""
    here = os.getcwd()
    os.chdir(os.path.dirname(xmf))
    try:
        return view.main([os.path.basename(xmf), "--reader", reader, "--png", png, *extra])
    finally:
        os.chdir(here)


def check_picture(view, xmf, reader):
    """Render by the bare name in the file's directory; the top of the plate is the hot edge."""
    with tempfile.TemporaryDirectory(prefix="jacobi-pv-") as tmp:
        png = os.path.join(tmp, "view.png")
        status = render(view, xmf, reader, png)
        if status != 0 or not os.path.exists(png):
            return f"{reader}: paraview_view.py {os.path.basename(xmf)} exited {status}, no picture"
        rows, brightness = picture_rows(png)
        if len(rows) < 20:
            return f"{reader}: the picture shows no plate ({len(rows)} rows differ from the background)"
        band = max(1, len(rows) // 10)
        top, bottom = brightness[rows[:band]].mean(), brightness[rows[-band:]].mean()
        if not top > bottom + 100:
            return (f"{reader}: the top of the picture ({top:.0f}) is not brighter than its "
                    f"bottom ({bottom:.0f}): the hot top edge is not at the top")
        print(f"ok {reader}: picture {len(rows)} rows high, top {top:.0f} against bottom "
              f"{bottom:.0f} (the hot edge at the top)")
        # the colour bar beside the plate, not over it; in a square picture too, where a plate
        # wider than high would fill the width
        for size in ("800x600", "500x500"):
            if size != "800x600" and render(view, xmf, reader, png, ("--size", size)) != 0:
                return f"{reader}: paraview_view.py --size {size} failed"
            problem = bar_beside_plate(png)
            if problem:
                return f"{reader}, {size}: the colour bar is not beside the plate: {problem}"
            print(f"ok {reader}, {size}: the colour bar beside the plate, nothing over it")
    return None


def check_owner_map(view, xmf):
    source = view.open_sidecar(xmf, "xdmf3")
    source.UpdatePipeline()
    lut = view.categorical_owner_map(source)
    low, high = source.PointData.GetArray("owner").GetRange()
    want = int(high - low) + 1
    if lut.InterpretValuesAsCategories != 1 or len(lut.Annotations) != 2 * want:
        return (f"owner map: expected categorical, {want} annotations, got categories="
                f"{lut.InterpretValuesAsCategories}, annotations {list(lut.Annotations)}")
    print(f"ok owner map: categorical, {want} categories ({', '.join(lut.Annotations[1::2])})")
    return None


def main():
    if len(sys.argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    given, h5 = sys.argv[1], os.path.abspath(sys.argv[2])
    xmf = os.path.abspath(given)
    if not os.path.dirname(given):  # a bare name: Xdmf3ReaderS cannot (docs/guide.md), ./NAME can
        given = os.path.join(".", given)
    view = None
    if len(sys.argv) == 4:
        spec = importlib.util.spec_from_file_location("paraview_view", sys.argv[3])
        view = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(view)
    with h5py.File(h5, "r") as f:
        fields = {name: f[name][...] for name in ("temperature", "owner") if name in f}
        h = float(f.attrs["spacing"])
    shape = fields["temperature"].shape
    failures = []
    # by the path as given: relative, from another directory in the test
    for reader_name, make in (("XDMFReader", lambda: XDMFReader(FileNames=[given])),
                              ("Xdmf3ReaderS", lambda: Xdmf3ReaderS(FileName=[given]))):
        problem = check(reader_name, make(), fields, h)
        if problem:
            failures.append(problem)
        else:
            print(f"ok {reader_name} ({given} from {os.getcwd()}): "
                  f"{', '.join(fields)} equal to the HDF5 file, {shape[0]} x "
                  f"{shape[1]} points, spacing {h:.6g} m, row 0 at the top")
    # the form jacobi's summary prints for a bare name ("in ParaView open ./plate.xmf"), with
    # the reader ParaView picks itself (OpenDataFile), from the file's own directory: ParaView
    # 5.11's default reader aborts on the bare name, so jacobi names this form (docs/guide.md)
    here = os.getcwd()
    os.chdir(os.path.dirname(xmf))
    try:
        printed = "./" + os.path.basename(xmf)
        problem = check(f"OpenDataFile({printed!r})", OpenDataFile(printed), fields, h)
    finally:
        os.chdir(here)
    if problem:
        failures.append(problem)
    else:
        print(f"ok OpenDataFile({printed!r}) from {os.path.dirname(xmf)}: the form jacobi prints")
    for reader in ("xdmf3", "legacy") if view else ():
        problem = check_picture(view, xmf, reader)
        if problem:
            failures.append(problem)
    if "owner" in fields and view:
        problem = check_owner_map(view, xmf)
        if problem:
            failures.append(problem)
    for problem in failures:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
