"""Voices listen area. See docs/listen.md."""
