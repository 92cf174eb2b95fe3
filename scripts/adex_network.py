"""The same as `nestml-lab adex-network` (run with --help for the options)."""

import sys

from nestml_lab.cli import main

if __name__ == "__main__":
    sys.exit(main(["adex-network", *sys.argv[1:]]))
