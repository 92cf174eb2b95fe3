"""The same as `nestml-lab run-tree` (run with --help for the options)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["run-tree", *sys.argv[1:]]))
