"""`python -m temoin` runs the command line."""

from temoin.cli import main

main()
