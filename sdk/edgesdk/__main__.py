"""``python -m edgesdk`` is the ``edgesdk`` command."""

from edgesdk.cli import main

main()
