#!/usr/bin/env python3
"""evalsuite's command line; see README.md or `python run_eval.py --help`."""

import sys

from evalsuite.cli import main

if __name__ == "__main__":
    sys.exit(main())
