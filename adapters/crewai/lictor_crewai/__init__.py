"""Lictor adapter for crewai (see docs/crewai.md)."""
