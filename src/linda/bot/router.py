"""The router: handlers, tried in priority order, for every stored inbound message and status.

The first handler whose filters hold answers, and handling stops there; a handler raises `ContinueHandling`
to let later handlers see the message too (its replies are kept), or `StopHandling` to end it explicitly.
Each handler runs under its own savepoint: one that fails is logged and rolled back alone, and the message
stays stored. While a person holds a conversation (hand-off), only handlers marked `during_handoff` run.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any, Generic, TypeVar

from linda.bot.context import MessageContext, StatusContext
from linda.bot.filters import Filter, all_of
from linda.contacts.phones import to_e164
from linda.inbox.apply import Received, StatusReceived
from linda.monitoring.monitor import NullMonitor, PerformanceMonitor
from linda.store.types import utcnow

log = logging.getLogger(__name__)
C = TypeVar("C")
MessageCallback = Callable[[MessageContext], Awaitable[Any]]
StatusCallback = Callable[[StatusContext], Awaitable[Any]]
_order = count()


class StopHandling(Exception):
    """Raised by a handler: no later handler sees this message."""


class ContinueHandling(Exception):
    """Raised by a handler: later handlers whose filters hold see this message too."""


@dataclass(frozen=True)
class Handler(Generic[C]):
    """`callback` runs when every filter holds. Higher `priority` first; equal ones in registration order."""

    callback: Callable[[C], Awaitable[Any]]
    filters: Filter[C] | None = None
    priority: int = 0
    during_handoff: bool = False  # also runs while a person holds the conversation (e.g. opt-out)
    name: str = ""
    order: int = field(default_factory=lambda: next(_order), compare=False)

    def matches(self, context: C) -> bool:
        return self.filters is None or self.filters(context)

    @property
    def label(self) -> str:
        return self.name or getattr(self.callback, "__qualname__", repr(self.callback))


@dataclass(frozen=True)
class HandlerError:
    at: datetime
    handler: str
    error: str


class Bot:
    """Routes messages and statuses to handlers. `hooks` plug it into the inbox processor."""

    def __init__(self, *, admins: Iterable[str] = ()) -> None:
        self.message_handlers: list[Handler[MessageContext]] = []
        self.status_handlers: list[Handler[StatusContext]] = []
        self.monitor: PerformanceMonitor = NullMonitor()  # the runtime gives its own
        fixed = frozenset(to_e164(a) for a in admins)
        self.admin_source: Callable[[], frozenset[str]] = lambda: fixed  # the rules file replaces it
        self.errors: deque[HandlerError] = deque(maxlen=20)  # the last failures, for `!status`

    @property
    def admins(self) -> frozenset[str]:
        """The admin numbers (E.164)."""
        return self.admin_source()

    def add_message_handler(self, handler: Handler[MessageContext]) -> Handler[MessageContext]:
        self.message_handlers.append(handler)
        self.message_handlers.sort(key=lambda h: (-h.priority, h.order))
        return handler

    def add_status_handler(self, handler: Handler[StatusContext]) -> Handler[StatusContext]:
        self.status_handlers.append(handler)
        self.status_handlers.sort(key=lambda h: (-h.priority, h.order))
        return handler

    def on_message(
        self, *filters: Filter[MessageContext], priority: int = 0, during_handoff: bool = False
    ) -> Callable[[MessageCallback], MessageCallback]:
        """Decorate `async def f(ctx: MessageContext)` to run for messages that pass every filter."""

        def register(callback: MessageCallback) -> MessageCallback:
            self.add_message_handler(
                Handler(callback, all_of(filters) if filters else None, priority, during_handoff)
            )
            return callback

        return register

    def on_status(
        self, *filters: Filter[StatusContext], priority: int = 0
    ) -> Callable[[StatusCallback], StatusCallback]:
        """Decorate `async def f(ctx: StatusContext)` to run for new statuses that pass every filter."""

        def register(callback: StatusCallback) -> StatusCallback:
            self.add_status_handler(Handler(callback, all_of(filters) if filters else None, priority))
            return callback

        return register

    async def handle_message(self, received: Received) -> None:
        """The inbox processor's message hook."""
        context = MessageContext(received, self)
        held = received.conversation.assigned_to is not None
        handlers = [h for h in self.message_handlers if h.during_handoff or not held]
        await self._dispatch(handlers, context)

    async def handle_status(self, received: StatusReceived) -> None:
        """The inbox processor's status hook."""
        await self._dispatch(self.status_handlers, StatusContext(received, self))

    async def _dispatch(self, handlers: list[Handler[C]], context: C) -> None:
        session = context.session  # type: ignore[attr-defined]
        for handler in handlers:
            if not handler.matches(context):
                continue
            go_on = False
            timing = self.monitor.start_timer("bot.handler", handler=handler.label)
            try:
                async with session.begin_nested():
                    try:
                        await handler.callback(context)
                    except ContinueHandling:
                        go_on = True
                    except StopHandling:
                        pass
            except Exception as exc:
                self.monitor.end_timer(timing, error=exc)
                log.exception("bot handler %s failed; its changes were rolled back", handler.label)
                self.errors.append(HandlerError(utcnow(), handler.label, f"{type(exc).__name__}: {exc}"))
            else:
                self.monitor.end_timer(timing)
            if not go_on:
                return
