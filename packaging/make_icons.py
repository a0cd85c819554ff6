"""Render the app icon from its SVG master into every file the app and the installers use.

    .venv/bin/python packaging/make_icons.py

Writes (and the files are committed, so a build never needs this step):

* ``desktop_app/resources/icons/clinic-ledger-<N>.png`` for N in :data:`RUNTIME_SIZES`: the
  window icon, loaded from the package at run time (source and frozen alike);
* ``resources/clinic-ledger.ico``: the Windows executable's and installer's icon;
* ``resources/clinic-ledger.icns``: the macOS app bundle's icon;
* ``resources/clinic-ledger.png`` (256 px): the Linux desktop entry's icon.

The ICO and ICNS containers hold PNG images (both formats allow it), so Qt's PNG writer is all
this needs; no image library is added for a build-time step.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

ROOT = Path(__file__).resolve().parent.parent
MASTER = ROOT / "desktop_app" / "resources" / "icons" / "clinic-ledger.svg"
RUNTIME_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
#: ICNS element types holding PNG data, by pixel size.
ICNS_TYPES = (
    (16, b"icp4"),
    (32, b"icp5"),
    (64, b"icp6"),
    (128, b"ic07"),
    (256, b"ic08"),
    (512, b"ic09"),
    (1024, b"ic10"),
)


def render(renderer: QSvgRenderer, size: int) -> bytes:
    """The icon at ``size`` x ``size`` pixels, as PNG bytes."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"could not encode the {size} px icon")
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows ICO file of PNG images (ICONDIR, one ICONDIRENTRY each, then the data)."""
    header = struct.pack("<HHH", 0, 1, len(images))
    offset = len(header) + 16 * len(images)
    entries, payload = b"", b""
    for size, png in sorted(images.items()):
        side = 0 if size >= 256 else size  # 0 means 256 in an ICONDIRENTRY
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(png), offset)
        offset += len(png)
        payload += png
    return header + entries + payload


def icns(images: dict[int, bytes]) -> bytes:
    """A macOS ICNS file: the ``icns`` header, then one (type, length, PNG) element per size."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(images[size])) + images[size] for size, kind in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    """Write every icon file; prints what it wrote."""
    app = QGuiApplication.instance() or QGuiApplication(sys.argv)
    renderer = QSvgRenderer(str(MASTER))
    if not renderer.isValid():
        raise SystemExit(f"{MASTER} is not a valid SVG")
    sizes = sorted({*RUNTIME_SIZES, *ICO_SIZES, *(size for size, _ in ICNS_TYPES)})
    pngs = {size: render(renderer, size) for size in sizes}
    written: list[Path] = []
    for size in RUNTIME_SIZES:
        path = MASTER.with_name(f"clinic-ledger-{size}.png")
        path.write_bytes(pngs[size])
        written.append(path)
    targets = {
        ROOT / "resources" / "clinic-ledger.ico": ico({s: pngs[s] for s in ICO_SIZES}),
        ROOT / "resources" / "clinic-ledger.icns": icns(pngs),
        ROOT / "resources" / "clinic-ledger.png": pngs[256],
    }
    for path, data in targets.items():
        path.write_bytes(data)
        written.append(path)
    for path in written:
        print(f"wrote {path.relative_to(ROOT)} ({path.stat().st_size:,} bytes)")
    del app
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
