"""Rewrite the golden curves in tests/regression/golden/ (on purpose only; see tests/regression/README.md)."""

import sys

from nestml_lab import golden

if __name__ == "__main__":
    golden.write(sys.argv[1:] or None)
