"""The packaged executable's entry point: the same as ``python -m desktop_app``."""

import multiprocessing
import sys

from desktop_app.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # harmless where nothing spawns processes; needed if one does
    sys.exit(main())
