"""``python -m macroact``: the command line."""

import sys

from macroact.commands import main

sys.exit(main())
