"""Voices access area. See docs/access.md."""
