"""Files the app ships: icons, the stylesheet, the CSV import templates.

They live inside the package so that they load the same way from a source checkout, an installed
wheel and the packaged (frozen) app: through :mod:`importlib.resources`, never a path built from
the working directory or the executable's folder.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

#: Pixel sizes of the window icon (``icons/clinic-ledger-<N>.png``; ``packaging/make_icons.py``).
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)
STYLESHEET = "clinic-ledger.qss"


def resource(*parts: str) -> Traversable:
    """A file or folder under ``desktop_app/resources``."""
    found = resources.files(__name__)
    for part in parts:
        found = found / part
    return found


def icon_files() -> list[Traversable]:
    """The app icon's PNG files, smallest first."""
    return [resource("icons", f"clinic-ledger-{size}.png") for size in ICON_SIZES]


def stylesheet() -> str:
    """The app's Qt stylesheet."""
    return resource("style", STYLESHEET).read_text(encoding="utf-8")
