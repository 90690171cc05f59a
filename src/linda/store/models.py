"""The tables. One deployment, several business numbers; contacts are shared by all numbers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from linda.store.types import JSONType, UTCDateTime, utcnow
from linda.whatsapp.limits import DEFAULT_THROUGHPUT_PER_SECOND

# Named constraints, so migrations can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite rowid aliases need INTEGER


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSONType, list[str]: JSONType}  # noqa: RUF012


class Account(Base):
    """A WhatsApp business phone number Linda sends from and receives on."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    phone_number_id: Mapped[str] = mapped_column(String(64), unique=True)
    display_phone_number: Mapped[str] = mapped_column(String(32))
    waba_id: Mapped[str] = mapped_column(String(64), default="")
    name: Mapped[str] = mapped_column(String(200), default="")
    access_token: Mapped[str | None] = mapped_column(Text)
    throughput_per_second: Mapped[int] = mapped_column(Integer, default=DEFAULT_THROUGHPUT_PER_SECOND)
    quality: Mapped[str] = mapped_column(String(16), default="UNKNOWN")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Contact(Base):
    """A WhatsApp user. Identified by E.164 phone, wa_id, or (since 2026) a business-scoped user_id."""

    __tablename__ = "contacts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    wa_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    user_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(256))
    locale: Mapped[str | None] = mapped_column(String(16))
    tags: Mapped[list[str]] = mapped_column(default=list)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None]
    opted_in_at: Mapped[datetime | None]
    opt_source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Conversation(Base):
    """One contact with one business number, and its 24 h customer service window."""

    __tablename__ = "conversations"
    __table_args__ = (UniqueConstraint("account_id", "contact_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    window_expires_at: Mapped[datetime | None]
    last_inbound_at: Mapped[datetime | None]
    last_outbound_at: Mapped[datetime | None]
    # hand-off: while assigned to a person, the bot leaves this conversation alone
    assigned_to: Mapped[str | None] = mapped_column(String(128), index=True)
    assigned_at: Mapped[datetime | None]
    # the menu the bot last offered here, until it times out
    menu: Mapped[str | None] = mapped_column(String(64))
    menu_expires_at: Mapped[datetime | None]
    away_sent_at: Mapped[datetime | None]  # the last "we are closed" message, so it is not repeated each time
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """Every message in or out. Outbound ones are created queued and move forward with status webhooks."""

    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    wamid: Mapped[str | None] = mapped_column(String(200), unique=True)
    type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    state: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(Text)
    reply_to_wamid: Mapped[str | None] = mapped_column(String(200))
    sent_at: Mapped[datetime | None]  # Meta's timestamp for inbound; acceptance time for outbound
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StatusEvent(Base):
    """Every raw status webhook item, once per (wamid, status)."""

    __tablename__ = "status_events"
    __table_args__ = (UniqueConstraint("wamid", "status"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    wamid: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    timestamp: Mapped[datetime]
    recipient_id: Mapped[str | None] = mapped_column(String(128))
    # biz_opaque_callback_data: Linda sends its idempotency key there, to recognise its sends after a timeout
    callback_data: Mapped[str | None] = mapped_column(String(512), index=True)
    error_code: Mapped[int | None] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class InboxItem(Base):
    """A raw webhook body, written before Meta gets its 200 and processed after."""

    __tablename__ = "inbox"
    __table_args__ = (Index("ix_inbox_state_id", "state", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | done | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxItem(Base):
    """A message to send. Higher priority first, then earlier due time; claimed with a lease."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_claim", "state", "due_at", "priority"),
        Index("ix_outbox_recipient_order", "recipient", "account_id", "state", "id"),  # per-recipient order
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    recipient: Mapped[str] = mapped_column(String(32))
    body: Mapped[dict[str, Any]] = mapped_column()  # the Graph API request body
    priority: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(8), default="pending")  # pending | sending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    wamid: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token of the management API. Only its SHA-256 is stored; revoked tokens stay for the record."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class MetricPoint(Base):
    """One series over one interval: a process's 10 s flush, or a rollup merged across processes ("*").

    `value` is a counter's sum, a gauge's level (rollups keep the maximum), or a sketch's count; `sketch`
    holds the quantile sketch of timed and observed series (see monitoring/sketch.py)."""

    __tablename__ = "metric_points"
    __table_args__ = (
        UniqueConstraint("resolution", "at", "process", "name", "labels"),
        Index("ix_metric_points_lookup", "resolution", "name", "at"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer)  # seconds: 10, 60, 3600
    at: Mapped[datetime]  # the start of the interval, aligned to the resolution
    process: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    labels: Mapped[str] = mapped_column(String(1000))  # canonical JSON of the sorted labels
    kind: Mapped[str] = mapped_column(String(8))  # sketch | counter | gauge
    value: Mapped[float]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    sketch: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class Alert(Base):
    """One alert: a rule's condition for one set of labels, with its current state."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)  # hash of rule name and labels
    rule: Mapped[str] = mapped_column(String(200))
    labels: Mapped[dict[str, Any]] = mapped_column(default=dict)
    severity: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(8), index=True)  # pending | firing | resolved
    value: Mapped[float | None]
    threshold: Mapped[float]
    summary: Mapped[str] = mapped_column(Text, default="")
    pending_since: Mapped[datetime | None]
    fired_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    last_true_at: Mapped[datetime | None]  # the condition last held (for keep_firing_for)
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]


class AlertEvent(Base):
    """The history of alerts: every change of state, with the value that caused it."""

    __tablename__ = "alert_events"
    __table_args__ = (Index("ix_alert_events_at", "at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[str] = mapped_column(String(8))
    value: Mapped[float | None]
    message: Mapped[str] = mapped_column(Text, default="")


class AlertDelivery(Base):
    """What one recipient of a notification channel was last sent: alert events up to `last_event_id`, at
    `sent_at` (WhatsApp messages to admins are grouped and rate-limited with it)."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("channel", "recipient"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp
    recipient: Mapped[str] = mapped_column(String(64))
    last_event_id: Mapped[int] = mapped_column(Id, default=0)
    sent_at: Mapped[datetime | None]


class ImportJob(Base):
    """A bulk contact import: its options, its progress (committed chunk by chunk), and how it ended."""

    __tablename__ = "imports"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    source: Mapped[str] = mapped_column(String(500))  # the file's name
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)  # SHA-256 of the file: resume matches it
    state: Mapped[str] = mapped_column(String(12), default="running")  # running | done | failed | cancelled
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)  # region, mapping, tags, policy, ...
    total_rows: Mapped[int | None] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)  # committed: an interrupted import resumes here
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    rejects_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None]


class ContactJob(Base):
    """A mass update of the contacts a filter selects, journaled so that it can be undone."""

    __tablename__ = "contact_jobs"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    filter: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(default=dict)  # add_tags, remove_tags, set, opt_out
    state: Mapped[str] = mapped_column(String(12), default="running")  # running | done | failed | undone
    matched: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    undone_at: Mapped[datetime | None]


class ContactChange(Base):
    """The journal of a mass update: a contact's fields before and after, to undo the job."""

    __tablename__ = "contact_changes"
    __table_args__ = (UniqueConstraint("job_id", "contact_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("contact_jobs.id"), index=True)
    contact_id: Mapped[int] = mapped_column(Id)  # no foreign key: an erased contact keeps its journal line
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Segment(Base):
    """A saved filter with a name, usable wherever a filter is."""

    __tablename__ = "segments"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    filter: Mapped[str] = mapped_column(Text)  # the string form
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
