"""Shared test helpers: real Governors built through the public API."""

from __future__ import annotations

import os

os.environ.setdefault("LICTOR_TEST", "1")
