"""`python -m solwatch.cli`: the same command as the installed `solwatch` script."""

from solwatch.cli import main

main(prog_name="solwatch")
