"""`python -m darts_lite`: see darts_lite.cli."""
import sys

from .cli import main

if __name__ == "__main__":  # not when a worker process of `bench` imports this module again (spawn)
    sys.exit(main())
