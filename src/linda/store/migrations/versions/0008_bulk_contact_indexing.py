"""bulk imports write the contacts search index themselves (SQLite)

While a transaction holds a row in `contacts_fts_paused`, the contacts search index triggers (insert, update)
do nothing: that transaction writes its `contacts_fts` rows itself, a chunk in one statement (see
linda.contacts.writing). The row is added and removed inside the transaction, so no other connection ever sees
it: every other write is indexed by the triggers as before. PostgreSQL indexes by expression and needs nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


PAUSED = "WHEN NOT EXISTS (SELECT 1 FROM contacts_fts_paused) "
# the contact document of revision 0006 (0009 takes the phone out)
DOCUMENT = (
    "linda_fold(coalesce(new.name, '') || ' ' || coalesce(new.phone, '') || ' ' || "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each(new.attributes)), ''))"
)


def _triggers(when: str) -> tuple[str, str]:
    return (
        f"CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts {when}BEGIN "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {DOCUMENT}); END",
        f"CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, phone, attributes ON contacts {when}BEGIN "
        "DELETE FROM contacts_fts WHERE rowid = old.id; "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {DOCUMENT}); END",
    )


def _replace_triggers(when: str) -> None:
    for statement in (
        "DROP TRIGGER contacts_fts_insert",
        "DROP TRIGGER contacts_fts_update",
        *_triggers(when),
    ):
        op.execute(statement)


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE contacts_fts_paused (id INTEGER PRIMARY KEY)")
    _replace_triggers(PAUSED)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _replace_triggers("")
    op.execute("DROP TABLE contacts_fts_paused")
