"""`python -m cxengine` runs the command line."""

from cxengine.cli import main

main()
