"""`python -m bot` is the same as the `perfbot` console script."""

from bot.cli import main

raise SystemExit(main())
