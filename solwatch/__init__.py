"""solwatch: watches the statute of limitations on CBP trade penalty cases."""

__version__ = "0.1.0"
