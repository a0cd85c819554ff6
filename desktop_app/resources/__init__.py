"""Files the app ships: icons and the CSV import templates.

They live inside the package, next to this module, and are found from this module's own location,
as the database migrations are: the same in a source checkout, an installed wheel and the packaged
(frozen) app, whose build collects this folder (``packaging/clinic-ledger.spec``). Never a path
built from the working directory or the executable's folder.
"""

from __future__ import annotations

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
#: Pixel sizes of the window icon (``icons/clinic-ledger-<N>.png``; ``packaging/make_icons.py``),
#: up to twice the largest a window asks for, so a 200% screen draws it from a file, not enlarged.
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def resource(*parts: str) -> Path:
    """A file or folder under ``desktop_app/resources``."""
    return FOLDER.joinpath(*parts)


def icon_files() -> list[Path]:
    """The app icon's PNG files, smallest first."""
    return [resource("icons", f"clinic-ledger-{size}.png") for size in ICON_SIZES]
