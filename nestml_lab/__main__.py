"""``python -m nestml_lab``: same as the ``nestml-lab`` command."""

import sys

from nestml_lab.cli import main

sys.exit(main())
