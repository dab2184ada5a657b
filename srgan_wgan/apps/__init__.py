"""Thin application layers over the shared core (each imports only the core, never another application)."""
