"""`python -m fellwatch` runs the command line."""

from fellwatch.cli import main

raise SystemExit(main())
