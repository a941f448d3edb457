"""The `solwatch` command: `main` is the console script's entry point."""

from solwatch.cli.app import main

__all__ = ["main"]
