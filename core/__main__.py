"""`python -m core`: the command line, all of it in core/cli.py."""
from .cli import main

raise SystemExit(main())
