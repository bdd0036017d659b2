"""``python -m bot`` runs the ``accessbot`` command."""

from bot.cli import main

raise SystemExit(main())
