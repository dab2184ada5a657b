"""Exceptions that the CLI turns into one-line messages instead of tracebacks."""

from __future__ import annotations


class UserError(Exception):
    """A mistake in what the user asked for: bad option, missing folder, impossible config.

    The CLI prints ``error: <message>`` and exits with code 2; nothing has been written when it is raised
    during validation.
    """


class ConfigError(UserError, ValueError):
    """An impossible or unknown configuration value."""


class WeightsError(UserError):
    """A missing, corrupt or mismatched weights file."""
