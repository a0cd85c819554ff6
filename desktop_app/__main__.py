"""``python -m desktop_app``: the Clinic Ledger command line (see :mod:`desktop_app.app`)."""

from desktop_app.app import main

raise SystemExit(main())
