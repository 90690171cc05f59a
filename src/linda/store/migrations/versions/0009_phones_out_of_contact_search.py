"""a contact's search document is its name and attribute values, without its phone number

Phone searches read the phone column's own index instead (linda.query.search). The number's digits made the
largest part of the contacts search index, and the slowest part of every import that writes it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTRIBUTE_VALUES = "coalesce((SELECT group_concat(value, ' ') FROM json_each({r}.attributes)), '')"
# SQLite: linda.query.fold.SQLITE_CONTACT_DOCUMENT (a test checks they agree), and revision 0006's
SQLITE_DOCUMENT = f"linda_fold(coalesce({{r}}.name, '') || ' ' || {ATTRIBUTE_VALUES})"
SQLITE_DOCUMENT_0006 = (
    f"linda_fold(coalesce({{r}}.name, '') || ' ' || coalesce({{r}}.phone, '') || ' ' || {ATTRIBUTE_VALUES})"
)
PAUSED = "WHEN NOT EXISTS (SELECT 1 FROM contacts_fts_paused) "  # see 0008

PG_ATTRIBUTE_VALUES = "coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(attributes)), '')"
PG_DOCUMENT = (
    "CREATE FUNCTION linda_contact_doc(name text, attributes jsonb) RETURNS text LANGUAGE sql IMMUTABLE "
    f"PARALLEL SAFE AS $$ SELECT linda_fold(coalesce(name, '') || ' ' || {PG_ATTRIBUTE_VALUES}) $$"
)
PG_DOCUMENT_0006 = (
    "CREATE FUNCTION linda_contact_doc(name text, phone text, attributes jsonb) RETURNS text LANGUAGE sql "
    "IMMUTABLE PARALLEL SAFE AS $$ SELECT linda_fold(coalesce(name, '') || ' ' || coalesce(phone, '') || ' ' || "
    f"{PG_ATTRIBUTE_VALUES}) $$"
)
PG_INDEX = "CREATE INDEX ix_contacts_search ON contacts USING gin (linda_contact_doc({columns}) gin_trgm_ops)"


def _sqlite(document: str, columns: str) -> None:
    """The contacts index triggers with `document`, and the index rebuilt with it."""
    new = document.format(r="new")
    for statement in (
        "DROP TRIGGER contacts_fts_insert",
        "DROP TRIGGER contacts_fts_update",
        f"CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts {PAUSED}BEGIN "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {new}); END",
        f"CREATE TRIGGER contacts_fts_update AFTER UPDATE OF {columns} ON contacts {PAUSED}BEGIN "
        "DELETE FROM contacts_fts WHERE rowid = old.id; "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {new}); END",
        "DELETE FROM contacts_fts",
        f"INSERT INTO contacts_fts (rowid, body) SELECT id, {document.format(r='contacts')} FROM contacts",
    ):
        op.execute(statement)


def _postgres(create: str, columns: str, old_signature: str) -> None:
    op.execute("DROP INDEX ix_contacts_search")
    op.execute(f"DROP FUNCTION linda_contact_doc({old_signature})")
    op.execute(create)
    op.execute(PG_INDEX.format(columns=columns))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite(SQLITE_DOCUMENT, "name, attributes")
    else:
        _postgres(PG_DOCUMENT, "name, attributes", "text, text, jsonb")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite(SQLITE_DOCUMENT_0006, "name, phone, attributes")
    else:
        _postgres(PG_DOCUMENT_0006, "name, phone, attributes", "text, jsonb")
