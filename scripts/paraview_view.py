"""paraview_view.py - show or render a jacobi result in ParaView, the right way up.

usage: pvbatch paraview_view.py FILE.xmf [--owner] [--reader xdmf3|legacy] [--png OUT.png]
       (headless: scripts/headless.sh pvbatch paraview_view.py ...; in the GUI: View >
       Python Shell > Run Script, with FILE.xmf in sys.argv, or pvpython)

Opens the XDMF sidecar jacobi wrote beside its HDF5 file and colours the plate by
temperature, or with --owner by the rank that owned each point (output.owner_map = true),
with a categorical map: one colour per rank, the boundary ring (-1) apart. The sidecar
puts the top edge at the top (row 0 at the largest y); the camera looks down z at the x-y
plane with y up. --png writes a screenshot instead of nothing (pvbatch) or the view
(pvpython shows none either: use the GUI to look).

The path is made absolute before it is opened: ParaView 5.11's default XDMF reader
(Xdmf3ReaderS) resolves the HDF5 file against a bare relative name wrongly
("plate.xmf" -> "plate.xmfplate.h5") and aborts.
"""
import argparse
import os
import sys

from paraview.simple import (ColorBy, Delete, GetActiveViewOrCreate, GetColorTransferFunction,
                             GetScalarBar, Render, ResetCamera, SaveScreenshot, Show,
                             Xdmf3ReaderS, XDMFReader, servermanager)


def open_sidecar(path, reader):
    path = os.path.abspath(path)  # see the docstring: Xdmf3ReaderS and bare relative names
    if reader == "legacy":
        return XDMFReader(FileNames=[path])
    return Xdmf3ReaderS(FileName=[path])


def categorical_owner_map(source):
    """One colour per owner value found in the file: categories, not a ramp."""
    data = servermanager.Fetch(source)
    low, high = data.GetPointData().GetArray("owner").GetRange()
    lut = GetColorTransferFunction("owner")
    lut.InterpretValuesAsCategories = 1
    annotations = []
    for value in range(int(low), int(high) + 1):
        annotations += [str(value), "boundary" if value < 0 else f"rank {value}"]
    lut.Annotations = annotations
    lut.ApplyPreset("KAAMS", True)
    return lut


def place_beside(view, source, bar, aspect):
    """The plate in the left part of the view, the colour bar in the strip to its right, so
    that the bar never covers the plate: a 2-D camera whose visible width leaves BAR_STRIP of
    the view to the bar, whatever the plate's shape and the picture's size (aspect = w / h)."""
    xmin, xmax, ymin, ymax, _, _ = source.GetDataInformation().GetBounds()
    width, height = xmax - xmin, ymax - ymin
    margin = 0.04
    # half the visible height: the plate fits in height, and in the width left of the strip
    scale = max(height / 2, width / (2 * aspect * (1 - BAR_STRIP))) * (1 + 2 * margin)
    left = xmin - margin * 2 * scale * aspect
    centre = [left + scale * aspect, (ymin + ymax) / 2, 0.0]
    view.CameraFocalPoint = centre
    view.CameraPosition = [centre[0], centre[1], 1.0]
    view.CameraViewUp = [0.0, 1.0, 0.0]  # y up: the sidecar puts the top edge at the top
    view.CameraParallelProjection = 1
    view.CameraParallelScale = scale
    bar.WindowLocation = "Any Location"
    bar.Orientation = "Vertical"
    bar.Position = [1 - BAR_STRIP + 0.03, 0.1]
    bar.ScalarBarLength = 0.8


BAR_STRIP = 0.2  # the right part of the view that holds the colour bar and its labels


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xmf", help="the .xmf sidecar jacobi wrote")
    parser.add_argument("--owner", action="store_true", help="colour by the owning rank")
    parser.add_argument("--reader", choices=("xdmf3", "legacy"), default="xdmf3",
                        help="ParaView's XDMF reader (default: xdmf3, ParaView's own default)")
    parser.add_argument("--png", help="write a screenshot here")
    parser.add_argument("--size", default="800x600", help="screenshot size (default 800x600)")
    args = parser.parse_args(argv)
    if not os.path.isfile(args.xmf):
        print(f"paraview_view.py: {args.xmf}: no such file", file=sys.stderr)
        return 2
    source = open_sidecar(args.xmf, args.reader)
    source.UpdatePipeline()
    name = "owner" if args.owner else "temperature"
    if source.PointData.GetArray(name) is None:
        hint = " (run jacobi with output.owner_map = true)" if args.owner else ""
        print(f"paraview_view.py: {args.xmf} has no point array {name!r}{hint}", file=sys.stderr)
        return 2
    view = GetActiveViewOrCreate("RenderView")
    display = Show(source, view)
    display.SetRepresentationType("Surface")
    ColorBy(display, ("POINTS", name))
    lut = categorical_owner_map(source) if args.owner else GetColorTransferFunction(name)
    if not args.owner:
        lut.ApplyPreset("Inferno (matplotlib)", True)
        lut.RescaleTransferFunction(*source.PointData.GetArray(name).GetRange())
    display.SetScalarBarVisibility(view, True)
    bar = GetScalarBar(lut, view)
    bar.Title = "temperature (degrees)" if name == "temperature" else name
    view.InteractionMode = "2D"
    view.OrientationAxesVisibility = 0
    width, height = (int(x) for x in args.size.split("x"))
    view.ViewSize = [width, height]
    ResetCamera(view)
    place_beside(view, source, bar, width / height)
    Render(view)
    if args.png:
        SaveScreenshot(args.png, view, ImageResolution=[width, height])
        print(f"paraview_view.py: wrote {args.png}")
    Delete(view)  # before the interpreter's teardown, which would release its GL context late
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
