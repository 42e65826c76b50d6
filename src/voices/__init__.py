"""Voices: work with the people who use health and care services."""

__version__ = "0.1.0"
