"""indexes for the filter language

`opted_out` on both databases (`opted_out`, `NOT opted_out`); on PostgreSQL a GIN index on `tags`
(jsonb_path_ops), which `tag = x` and `tag IN [...]` use through `tags @> '["x"]'`. SQLite cannot index list
membership; there `tag = x` reads the table (see docs/filters.md for the numbers).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_contacts_opted_out", "contacts", ["opted_out"])
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_contacts_tags",
            "contacts",
            ["tags"],
            postgresql_using="gin",
            postgresql_ops={"tags": "jsonb_path_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_tags", table_name="contacts")
    op.drop_index("ix_contacts_opted_out", table_name="contacts")
