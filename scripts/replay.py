#!/usr/bin/env python3
"""Rebuild, verify or month-replay projections (API §5): see ``--help``.

A thin wrapper around ``classledger.projections.replay``.
"""

from classledger.projections.replay import main

if __name__ == "__main__":
    raise SystemExit(main())
