"""Upgrade NESTML 7/8 models to NESTML 9: the same as `nestml-lab upgrade` (run with --help)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["upgrade", *sys.argv[1:]]))
