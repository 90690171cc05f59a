"""Every setting, declared once: name, default and help. Read from the environment (LINDA_*) and `.env`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from linda.whatsapp.limits import DEFAULT_THROUGHPUT_PER_SECOND


class AccountSettings(BaseModel):
    """A business number declared in settings (`LINDA_ACCOUNTS`, a JSON list of these)."""

    phone_number_id: str
    display_phone_number: str = ""
    waba_id: str = ""
    access_token: str | None = None
    throughput_per_second: int = DEFAULT_THROUGHPUT_PER_SECOND
    name: str = ""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LINDA_", env_file=".env", extra="ignore")

    database_url: str = Field(
        "sqlite:///linda.db",
        description="SQLAlchemy URL of the database: sqlite:///path.db (embedded) or postgresql://user@host/db.",
    )
    redis_url: str | None = Field(
        None, description="Redis URL; when set, send limits are shared by every process through it."
    )
    redis_key_prefix: str = Field(
        "linda:",
        description="Prefix of every Redis key Linda writes (several deployments can share a Redis).",
    )
    host: str = Field("127.0.0.1", description="Address `linda serve` listens on.")
    port: int = Field(8000, description="Port `linda serve` listens on.")
    access_log: bool = Field(
        False, description="Log every HTTP request (Meta's webhooks are many: off unless you need them)."
    )
    public_url: str | None = Field(
        None, description="Base URL Meta (or the emulator) reaches this server at; default http://host:port."
    )
    sandbox: bool = Field(
        False,
        description="Run the emulator inside this process and point Linda at it (no Meta account needed).",
    )

    graph_api_url: str = Field(
        "https://graph.facebook.com", description="Base URL of the Graph API: Meta's, or an emulator's."
    )
    graph_api_version: str = Field("v23.0", description="Graph API version used in request paths.")
    graph_api_timeout_seconds: float = Field(15.0, description="Timeout of one Graph API request.")
    access_token: str = Field(
        "sandbox-token", description="Graph API access token used by accounts that do not set their own."
    )
    app_secret: str = Field(
        "sandbox-app-secret", description="Meta app secret: webhook bodies are signed with it."
    )
    verify_token: str = Field(
        "sandbox-verify-token", description="Token Meta echoes in the webhook verification handshake."
    )
    phone_number_id: str | None = Field(
        None, description="A default business number (Meta's phone number id), added as an account on start."
    )
    display_phone_number: str = Field(
        "", description="How people dial the LINDA_PHONE_NUMBER_ID number, e.g. +971 4 123 4567."
    )
    accounts: list[AccountSettings] = Field(
        default_factory=list,
        description="Business numbers, as a JSON list; merged into the database on start.",
    )

    webhook_max_body_bytes: int = Field(
        1_048_576, description="Largest webhook body accepted; larger ones get 413."
    )
    inbox_poll_seconds: float = Field(0.2, description="How often the inbox processor looks for new rows.")
    inbox_batch_size: int = Field(50, description="Inbox rows claimed per round.")
    inbox_max_attempts: int = Field(
        5, description="Failures after which an inbox row becomes a dead letter (see `linda inbox replay`)."
    )
    lease_seconds: float = Field(
        30.0,
        description="How long a claimed inbox or outbox row stays with its worker before others may take it.",
    )

    senders: int = Field(
        8, ge=0, description="Concurrent outbox senders in each process; 0: this process does not send."
    )
    outbox_poll_seconds: float = Field(0.1, description="How often idle senders look for due outbox rows.")
    outbox_max_attempts: int = Field(8, description="Attempts before a retryable failure becomes permanent.")
    retry_base_seconds: float = Field(
        1.0, description="First retry delay; doubles with each attempt, with jitter."
    )
    retry_max_seconds: float = Field(600.0, description="Longest delay between two attempts.")
    mark_as_read: bool = Field(
        False,
        description="Mark every stored inbound message as read, so the user sees blue ticks (on in sandbox "
        "mode unless set).",
    )
    fallback_template: str | None = Field(
        None,
        description="Template sent instead of a free-form message outside the 24 h window, as name:language "
        "(e.g. follow_up:en_US). Unset: such sends fail with outside_service_window.",
    )

    bot_rules: str | None = Field(
        None,
        description="YAML rules file of the built-in bot behaviours (docs/bots.md), reloaded when it changes. "
        "Unset: no built-in behaviours, except in sandbox mode, which uses the sample brokerage rules.",
    )
    bot_modules: list[str] = Field(
        default_factory=list,
        description="Python bot modules with a setup(bot) function (file paths or dotted names), as a JSON "
        "list; `--bot` adds one.",
    )

    monitoring: bool = Field(
        True, description="Measure Linda itself (latencies, errors, queues, memory) and keep the history."
    )
    metrics_public: bool = Field(
        True,
        description="Serve /metrics (Prometheus) without an API token; false: it needs "
        "`Authorization: Bearer <token>` like /api.",
    )
    metrics_flush_seconds: float = Field(
        10.0, gt=0, description="How often each process stores what it measured (the finest resolution)."
    )
    metrics_retention: str = Field(
        "10s:24h,1m:14d,1h:365d",
        description="How long history is kept at each resolution, finest first; coarser ones are rolled up "
        "from it by merging sketches.",
    )
    memory_limit_bytes: int | None = Field(
        None,
        description="Memory one process may use (e.g. its container's limit); the default alert fires above "
        "85% of it. Unset: the machine's memory.",
    )
    alert_rules: str | None = Field(
        None,
        description="YAML file of alert rules (docs/monitoring.md), reloaded when it changes. Unset: the "
        "default rules.",
    )
    alert_webhook_url: str | None = Field(
        None, description="Alerts that fire or resolve are POSTed here as JSON (unset: no webhook)."
    )
    alert_webhook_secret: str | None = Field(
        None,
        description="Signs alert webhooks: header X-Linda-Signature is sha256= and the hex HMAC-SHA256 of "
        "the body with this secret.",
    )
    alert_admins: list[str] = Field(
        default_factory=list,
        description="Phone numbers that get alerts on WhatsApp from the first business number, as a JSON "
        "list; free-form text needs the admin's message within 24 h (else LINDA_FALLBACK_TEMPLATE).",
    )
    alert_whatsapp_min_seconds: float = Field(
        300.0,
        ge=0,
        description="At most one WhatsApp alert message per admin this often; changes in between are "
        "grouped into the next.",
    )

    emulator_webhook_url: str | None = Field(
        None, description="Emulator: where it posts webhooks (default: this server's /webhooks/whatsapp)."
    )
    emulator_throughput: int = Field(
        DEFAULT_THROUGHPUT_PER_SECOND, description="Emulator: messages per second Meta allows each number."
    )
    emulator_status_delays: tuple[float, float, float] = Field(
        (0.05, 0.1, 0.2),
        description="Emulator: seconds after an accepted send at which sent, delivered and read are posted.",
    )

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    def all_accounts(self) -> list[AccountSettings]:
        """`accounts`, plus the default number of LINDA_PHONE_NUMBER_ID when it is not among them."""
        accounts = list(self.accounts)
        if self.phone_number_id and all(a.phone_number_id != self.phone_number_id for a in accounts):
            accounts.insert(
                0,
                AccountSettings(
                    phone_number_id=self.phone_number_id, display_phone_number=self.display_phone_number
                ),
            )
        return accounts

    @property
    def base_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    def unsafe_secrets(self) -> list[str]:
        """Secrets that would let strangers in: empty, or still at their sandbox values outside sandbox mode
        while Linda talks to a Graph API that is not on this machine (Meta's)."""
        fields = ("access_token", "app_secret", "verify_token")
        empty = [name for name in fields if not getattr(self, name)]
        local = self.sandbox or urlsplit(self.graph_api_url).hostname in ("127.0.0.1", "localhost", "::1")
        defaults = [] if local else [name for name in fields if getattr(self, name) == _DEFAULTS[name]]
        return [f"LINDA_{name.upper()}" for name in empty + defaults]

    def graph_url(self) -> str:
        return self.graph_api_url.rstrip("/") + "/" + self.graph_api_version


_DEFAULTS = {name: field.default for name, field in Settings.model_fields.items()}


def describe() -> list[dict[str, Any]]:
    """Every setting as (env name, default, help), for `linda settings` and the docs test."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory else field.default  # type: ignore[call-arg]
        rows.append({"env": f"LINDA_{name.upper()}", "default": default, "help": field.description or ""})
    return rows


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
