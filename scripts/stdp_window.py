"""STDP-window experiment: the same as `nestml-lab stdp-window` (run with --help for the options)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["stdp-window", *sys.argv[1:]]))
