"""What the packages are built from: one version, and icons that are what they claim to be."""

from __future__ import annotations

import configparser
import struct
import tomllib
from importlib.metadata import version
from pathlib import Path

import desktop_app
from desktop_app import resources

ROOT = Path(__file__).resolve().parents[2]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_version_has_one_source():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert "version" not in project and project["dynamic"] == ["version"]
    assert version("clinic-ledger") == desktop_app.__version__


def test_the_runtime_icons_are_pngs_of_their_sizes():
    for file, size in zip(resources.icon_files(), resources.ICON_SIZES, strict=True):
        assert png_size(file.read_bytes()) == (size, size), file.name


def test_the_windows_icon_holds_every_size_up_to_256():
    data = (ROOT / "resources" / "clinic-ledger.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind) == (0, 1) and count == 7
    sizes = []
    for n in range(count):
        width, _, _, _, _, _, length, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * n : 22 + 16 * n]
        )
        image = data[offset : offset + length]
        sizes.append(png_size(image)[0])
        assert png_size(image)[0] == (width or 256)
    assert sizes == [16, 24, 32, 48, 64, 128, 256]


def test_the_macos_icon_holds_16_to_1024():
    data = (ROOT / "resources" / "clinic-ledger.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    offset, sizes = 8, []
    while offset < len(data):
        length = struct.unpack(">I", data[offset + 4 : offset + 8])[0]
        sizes.append(png_size(data[offset + 8 : offset + length])[0])
        offset += length
    assert sizes == [16, 32, 64, 128, 256, 512, 1024]


def test_the_linux_desktop_entry_starts_the_app_with_its_icon():
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read(ROOT / "resources" / "clinic-ledger.desktop")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application" and section["Name"] == "Clinic Ledger"
    assert section["Exec"] == "clinic-ledger" and section["Icon"] == "clinic-ledger"
    assert png_size((ROOT / "resources" / "clinic-ledger.png").read_bytes()) == (256, 256)


def test_the_installers_take_the_version_from_the_build():
    iss = (ROOT / "packaging" / "windows" / "clinic-ledger.iss").read_text()
    assert "AppVersion={#AppVersion}" in iss and "#error Pass the version" in iss
    spec = (ROOT / "packaging" / "clinic-ledger.spec").read_text()
    assert "from desktop_app import __version__" in spec
