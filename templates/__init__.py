"""The mail templates: the source an agency copies from, installed with solwatch as the
package solwatch.templates (see pyproject.toml)."""
