"""Statement timings: every SQL statement's duration, by its fingerprint (the statement with its literals
and IN lists folded), through SQLAlchemy's cursor events."""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any

from sqlalchemy import event

from linda.monitoring.monitor import PerformanceMonitor
from linda.store.db import Database

_LITERALS = re.compile(r"'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b")
_LISTS = re.compile(r"\(\s*(?:\?|%\(\w+\)s|\$\d+|:\w+)(?:\s*,\s*(?:\?|%\(\w+\)s|\$\d+|:\w+))*\s*\)")
_SPACE = re.compile(r"\s+")
MAX_FINGERPRINT = 120


@lru_cache(maxsize=4096)
def fingerprint(statement: str) -> str:
    """`SELECT ... WHERE id IN (?, ?, ?) AND name = 'x'` -> `SELECT ... WHERE id IN (…) AND name = ?`."""
    text = _LISTS.sub("(…)", statement)
    text = _LITERALS.sub("?", text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= MAX_FINGERPRINT else text[: MAX_FINGERPRINT - 1] + "…"


def instrument_database(db: Database, monitor: PerformanceMonitor) -> None:
    """Time every statement of `db`'s engines into the series `db.statement` {statement: fingerprint}."""

    def before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        conn.info.setdefault("linda_started", []).append(time.perf_counter())

    def after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        started = conn.info["linda_started"].pop()
        monitor.observe("db.statement", time.perf_counter() - started, statement=fingerprint(statement))

    def failed(context: Any) -> None:
        stack = context.connection.info.get("linda_started") if context.connection is not None else None
        if stack:
            started = stack.pop()
            statement = fingerprint(context.statement or "")
            token = monitor.start_timer("db.statement", statement=statement)
            monitor.end_timer(token, error=type(context.original_exception).__name__)
            del started

    for engine in {id(e): e for e in (db.write_engine, db.read_engine)}.values():
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", before)
        event.listen(sync, "after_cursor_execute", after)
        event.listen(sync, "handle_error", failed)
