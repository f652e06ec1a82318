"""`python -m darts_lite`: see darts_lite.cli."""
import sys

from .cli import main

sys.exit(main())
