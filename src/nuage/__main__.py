"""``python -m nuage`` runs the ``nuage`` command."""

from nuage.cli import main

main()
