"""Voices involve area. See docs/involve.md."""
