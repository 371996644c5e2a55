"""Lictor adapter for langgraph (see docs/langgraph.md)."""
