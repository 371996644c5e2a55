"""The audit trail as a Lictor plugin: one chained record per decision, written before
``check()`` returns.

It is an ordinary plugin on ``lictor_on_decision`` so that it sees exactly what every other
observer sees, and so that a failure to record fails closed the same way any observer's does
(the Governor denies: nothing runs unrecorded). See :mod:`lictor.audit` for the design.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Optional

from ..hookspecs import hookimpl
from .record import encode_decision, loads
from .verify import Head, HeadLike, VerifyReport, verify_store
from .writer import Writer

if TYPE_CHECKING:  # pragma: no cover
    from ..context import Context
    from ..models import Action, Decision
    from ..policy.schema import Policy

__all__ = ["AuditPlugin"]


class AuditPlugin:
    """Records every decision of one Governor in a hash-chained SQLite trail.

    Inactive (``active = False``, no file, no thread) when the policy has no ``audit:`` section
    or says ``sink: none``. ``Governor.audit`` returns this object when it is active.
    """

    name = "audit"

    def __init__(self) -> None:
        self.active = False
        self.path: Optional[str] = None
        self.durability: Optional[str] = None
        self._writer: Optional[Writer] = None
        self._max_content = 4096

    # -- hooks ---------------------------------------------------------------------------------
    @hookimpl
    def lictor_configure(self, policy: "Policy", ctx: "Context") -> None:
        section = policy.audit
        if section is None or section.sink == "none":
            return
        path = os.path.abspath(os.path.expanduser(section.path))
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            raise ValueError(
                f"audit.path: cannot keep the audit trail at '{path}': the directory '{folder}' "
                f"does not exist (create it, or point audit.path elsewhere)"
            )
        try:
            writer = Writer(path, section.durability, float(section.flush_interval))
        except Exception as exc:
            raise ValueError(
                f"audit.path: cannot write the audit trail at '{path}': {type(exc).__name__}: {exc}"
            ) from exc
        self._writer = writer
        self.path = path
        self.durability = section.durability
        self._max_content = section.max_content
        self.active = True

    # trylast: every other observer runs first, so when one of them fails the trail records the
    # deny the caller actually gets, not the verdict before it.
    @hookimpl(trylast=True)
    def lictor_on_decision(self, action: "Action", decision: "Decision", ctx: "Context") -> None:
        if not self.active:
            return
        writer = self._writer
        assert writer is not None  # active implies a writer
        if writer.error is not None and writer.durability == "batch":
            # Batch records live only in memory until stored: while the database refuses
            # them, deciding more would pile up records that a crash would lose. Fail closed.
            raise RuntimeError(f"audit trail {self.path} is not writable: {writer.error}")
        rid = writer.rid_prefix + str(next(writer.counter))
        writer.append(rid, encode_decision(rid, ctx.clock(), action, decision, self._max_content))

    @hookimpl
    def lictor_shutdown(self, ctx: "Context") -> None:
        self.close()

    # -- public API ----------------------------------------------------------------------------
    def flush(self) -> None:
        """Store every decision recorded so far in SQLite now, instead of at the next interval.

        Not needed for durability in ``journal`` mode (the journal already survives a crash);
        useful before reading the database with other tools, and in ``batch`` mode before a
        moment you cannot afford to lose.
        """
        self._require().flush()

    def head(self) -> Head:
        """``(seq, hash)`` of the last stored record, after a flush.

        Write it somewhere out of reach of whoever can edit the database (a log, a ticket,
        another system) and later pass it to :meth:`verify` as ``expect_head``: that is what
        reveals records cut off the end of the trail, which a hash chain alone cannot show.
        """
        return self._require().with_store(lambda s: Head(*s.head()))

    def verify(self, expect_head: Optional[HeadLike] = None) -> VerifyReport:
        """Recompute the whole chain and report the first record that does not fit.

        Flushes first (and replays journals left by dead processes), so every decision this
        Governor returned is covered. See :class:`~lictor.audit.VerifyReport`.
        """
        writer = self._require()
        writer.recover()
        return writer.with_store(lambda s: verify_store(s, expect_head))

    def records(self, last: Optional[int] = None) -> list[dict[str, Any]]:
        """The stored records, oldest first (the ``last`` N only, when given), after a flush.

        Each is the recorded dict (``action`` as submitted, then the decision's fields) plus
        ``seq``, ``hash`` and ``time_iso`` (derived, not stored).
        """
        return self._require().with_store(lambda s: [_as_dict(r) for r in s.last(last)])

    def close(self) -> None:
        """Flush and stop the writer; later decisions are denied (nothing runs unrecorded)."""
        if self._writer is not None:
            self._writer.close()

    def _require(self) -> Writer:
        if self._writer is None:
            raise RuntimeError("the audit trail is not active (no `audit:` section in the policy)")
        return self._writer

    def __repr__(self) -> str:
        if not self.active:
            return "AuditPlugin(inactive)"
        return f"AuditPlugin(path={self.path!r}, durability={self.durability!r})"


def _as_dict(row: tuple[int, str, str, str, bytes]) -> dict[str, Any]:
    seq, _rid, _prev, h, body = row
    rec = loads(bytes(body))
    rec["seq"] = seq
    rec["hash"] = h
    when = rec.get("time")
    if isinstance(when, (int, float)):
        rec["time_iso"] = datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="milliseconds")
    return rec
