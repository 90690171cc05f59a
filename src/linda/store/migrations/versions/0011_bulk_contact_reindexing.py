"""an import reindexes the contacts it merged into once per chunk, and only those whose text changed (SQLite)

While a transaction holds a row in `contacts_fts_paused` (revision 0008), an update of a contact's name or
attributes records the contact in `contacts_fts_stale`, with the name and attributes it had before, instead of
doing nothing: the import rewrites the search rows of the recorded contacts whose text changed in one statement
at the end of its chunk (see linda.contacts.writing), and no longer asks its upserts for a row per contact.

The contacts search table is made again without column sizes (`columnsize=0`: bm25 measures a matched row's
text when it ranks it) and with a 32 MiB hash of pending terms (FTS5's default is 1 MiB): writing a large
import's rows, FTS5 no longer keeps a size row per contact, and writes out fewer, larger segments to merge.
PostgreSQL indexes by expression and needs nothing.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

from linda.query.fold import SQLITE_CONTACT_DOCUMENT

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HASH_SIZE = 32 * 2**20


def _contacts_fts(options: str, hash_size: int | None) -> None:
    op.execute("DROP TABLE contacts_fts")
    op.execute(f"CREATE VIRTUAL TABLE contacts_fts USING fts5(body, tokenize = 'trigram'{options})")
    if hash_size is not None:
        op.execute(f"INSERT INTO contacts_fts (contacts_fts, rank) VALUES ('hashsize', {hash_size})")
    op.execute(
        f"INSERT INTO contacts_fts (rowid, body) SELECT id, {SQLITE_CONTACT_DOCUMENT.format(r='contacts')} "
        "FROM contacts ORDER BY id"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("CREATE TABLE contacts_fts_stale (id INTEGER PRIMARY KEY, name TEXT, attributes TEXT)")
    op.execute(
        "CREATE TRIGGER contacts_fts_defer AFTER UPDATE OF name, attributes ON contacts "
        "WHEN EXISTS (SELECT 1 FROM contacts_fts_paused) BEGIN "
        "INSERT INTO contacts_fts_stale (id, name, attributes) SELECT new.id, old.name, old.attributes "
        "WHERE NOT EXISTS (SELECT 1 FROM contacts_fts_stale WHERE id = new.id); END"
    )
    _contacts_fts(", columnsize = 0", HASH_SIZE)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    _contacts_fts("", None)
    op.execute("DROP TRIGGER contacts_fts_defer")
    op.execute("DROP TABLE contacts_fts_stale")
