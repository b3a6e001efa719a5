"""``python -m gradstep``: the same as the ``gradstep`` command."""

import sys

from gradstep.cli import main

if __name__ == "__main__":
    sys.exit(main())
