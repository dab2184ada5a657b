"""Inference helpers shared by every application (tiling)."""
