"""`python -m loadplan`: see cli.py."""

import sys

from loadplan.cli import main

sys.exit(main())
