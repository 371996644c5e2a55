"""Lictor adapter for autogen (see docs/autogen.md)."""
