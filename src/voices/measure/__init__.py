"""Voices measure area. See docs/measure.md."""
