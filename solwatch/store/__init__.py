"""The case store: tables, migrations, importing extracts, and reading cases back."""
