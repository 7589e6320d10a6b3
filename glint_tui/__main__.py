"""`python -m glint_tui` is the same as the `glint` command."""

import sys

from glint_tui.cli import main

sys.exit(main())
