"""The same as `nestml-lab song2000` (run with --help for the options)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["song2000", *sys.argv[1:]]))
