"""``python -m glint_backup``."""

import sys

from glint_backup.cli import main

sys.exit(main())
