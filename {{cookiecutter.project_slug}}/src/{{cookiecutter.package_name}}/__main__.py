"""Run the command line interface with `python -m <package>`."""

from .cli import main

main()
