"""`python -m whosthat.cli`: the `whosthat` command."""

import sys

from whosthat.cli.main import main

sys.exit(main())
