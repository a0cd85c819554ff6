"""The PySide6 windows over :mod:`desktop_app.core`. Nothing here touches the database directly."""
