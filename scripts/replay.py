#!/usr/bin/env python3
"""Rebuild, verify or month-replay projections (API §5): ``classledger replay``, see ``--help``."""

from classledger.cli_replay import main

if __name__ == "__main__":
    raise SystemExit(main())
