"""``python -m lamina``: the ``lamina`` command (see :mod:`lamina.cli`)."""

import sys

from .cli import main

sys.exit(main())
