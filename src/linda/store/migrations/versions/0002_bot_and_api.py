"""bot and api

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import linda.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", linda.store.types.UTCDateTime(), nullable=False),
        sa.Column("last_used_at", linda.store.types.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", linda.store.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("name", name=op.f("uq_api_tokens_name")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("assigned_at", linda.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("menu", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("menu_expires_at", linda.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("away_sent_at", linda.store.types.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f("ix_conversations_assigned_to"), ["assigned_to"], unique=False)

    op.create_index(
        "ix_outbox_recipient_order", "outbox", ["recipient", "account_id", "state", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_recipient_order", table_name="outbox")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_conversations_assigned_to"))
        batch_op.drop_column("away_sent_at")
        batch_op.drop_column("menu_expires_at")
        batch_op.drop_column("menu")
        batch_op.drop_column("assigned_at")
        batch_op.drop_column("assigned_to")

    op.drop_table("api_tokens")
