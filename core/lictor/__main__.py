"""``python -m lictor`` runs the ``lictor`` command."""

from .cli import main

raise SystemExit(main())
