"""Partwise entry point.

``python main.py [FILE]`` opens the workstation window; ``python main.py separate …``
runs the headless separation, which never imports Qt; ``python main.py sweep …``
tabulates the loss against the number of components (Qt only for ``--plot``).
The command line lives in :mod:`app.cli`.
"""

from __future__ import annotations

import sys

from app.cli import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
