"""Single source of the package version (read by pyproject and stored in every weight file)."""

__version__ = "0.1.0"
