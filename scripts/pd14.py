"""The same as `nestml-lab pd14` (run with --help for the options)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["pd14", *sys.argv[1:]]))
