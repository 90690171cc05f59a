"""an import's merged contacts are reindexed once per chunk (SQLite)

While a transaction holds a row in `contacts_fts_paused` (revision 0008), an update of a contact's name or
attributes records the contact's id in `contacts_fts_stale` instead of doing nothing: the import rewrites the
search rows of those contacts in one statement at the end of its chunk (see linda.contacts.writing), and no
longer asks its upserts for a row per contact written. PostgreSQL indexes by expression and needs nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE contacts_fts_stale (id INTEGER PRIMARY KEY)")
    op.execute(
        "CREATE TRIGGER contacts_fts_defer AFTER UPDATE OF name, attributes ON contacts "
        "WHEN EXISTS (SELECT 1 FROM contacts_fts_paused) BEGIN "
        "INSERT INTO contacts_fts_stale (id) SELECT new.id "
        "WHERE NOT EXISTS (SELECT 1 FROM contacts_fts_stale WHERE id = new.id); END"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP TRIGGER contacts_fts_defer")
    op.execute("DROP TABLE contacts_fts_stale")
