"""Voices codesign area. See docs/codesign.md."""
