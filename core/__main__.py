"""``python -m core`` runs the ``kliendihaldus`` command."""

from core.cli import main

main()
