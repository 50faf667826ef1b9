"""Entry point: the dispatch console, or a headless sub-command (see README)."""
import sys

from ui.entry import main

if __name__ == "__main__":
    sys.exit(main())
