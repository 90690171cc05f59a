"""Commands for the admin numbers of the rules file: `!status` and `!help`, answered in the chat."""

from __future__ import annotations

from sqlalchemy import func, select

from linda.bot.context import MessageContext
from linda.bot.filters import command, is_admin
from linda.bot.router import Handler
from linda.store.models import Account, InboxItem, OutboxItem
from linda.store.types import utcnow

HELP = """Admin commands:
!status - numbers, queues and the last errors
!help - this list"""


async def status_report(c: MessageContext) -> str:
    session = c.session
    accounts = (await session.scalars(select(Account).order_by(Account.id))).all()
    waiting = select(func.count(), func.min(OutboxItem.due_at)).where(OutboxItem.state == "pending")
    depth, oldest = (await session.execute(waiting)).one()
    inbox = dict(
        (await session.execute(select(InboxItem.state, func.count()).group_by(InboxItem.state))).all()
    )
    failed = (
        await session.execute(
            select(OutboxItem.recipient, OutboxItem.error_code, OutboxItem.error_message)
            .where(OutboxItem.state == "failed")
            .order_by(OutboxItem.finished_at.desc())
            .limit(3)
        )
    ).all()
    lines = ["Linda status", "Numbers:"]
    lines += [f"- {a.display_phone_number or a.phone_number_id} ({a.quality})" for a in accounts]
    late = f", oldest due {int((utcnow() - oldest).total_seconds())} s ago" if oldest else ""
    lines.append(f"Outbox: {depth} waiting{late}")
    lines.append(f"Inbox: {inbox.get('pending', 0)} waiting, {inbox.get('dead', 0)} dead letters")
    if failed:
        lines.append("Last send errors:")
        lines += [f"- to {to}: {code} {(message or '')[:80]}" for to, code, message in failed]
    if c.bot.errors:
        latest = c.bot.errors[-1]
        lines.append(
            f"Bot handler errors: {len(c.bot.errors)}, last in {latest.handler}: {latest.error[:80]}"
        )
    return "\n".join(lines)


async def _status(c: MessageContext) -> None:
    await c.send_text(await status_report(c))


async def _help(c: MessageContext) -> None:
    await c.send_text(HELP)


def admin_commands(priority: int) -> list[Handler[MessageContext]]:
    return [
        Handler(_status, is_admin & command("status"), priority, name="!status"),
        Handler(_help, is_admin & command("help"), priority, name="!help"),
    ]
