"""full-text search indexes over message texts and contacts

SQLite: FTS5 tables with the trigram tokenizer over the folded text, kept in sync by triggers that call
linda_fold (a function each of Linda's connections registers). PostgreSQL: linda_fold in SQL and pg_trgm GIN
indexes on the folded expressions (no copy of the text).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

from linda.query.fold import SQLITE_REBUILD, pg_fold_sql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The contact document as this revision indexed it (0009 takes the phone out)
SQLITE_CONTACT_DOC = (
    "linda_fold(coalesce({r}.name, '') || ' ' || coalesce({r}.phone, '') || ' ' || "
    "coalesce((SELECT group_concat(value, ' ') FROM json_each({r}.attributes)), ''))"
)


def _sqlite_upgrade() -> None:
    execute = op.execute
    execute("CREATE VIRTUAL TABLE messages_fts USING fts5(body, tokenize = 'trigram')")
    execute("CREATE VIRTUAL TABLE contacts_fts USING fts5(body, tokenize = 'trigram')")
    execute(
        "CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.text IS NOT NULL BEGIN "
        "INSERT INTO messages_fts (rowid, body) VALUES (new.id, linda_fold(new.text)); END"
    )
    execute(
        "CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
        "DELETE FROM messages_fts WHERE rowid = old.id; "
        "INSERT INTO messages_fts (rowid, body) SELECT new.id, linda_fold(new.text) WHERE new.text IS NOT NULL; "
        "END"
    )
    execute(
        "CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
        "DELETE FROM messages_fts WHERE rowid = old.id; END"
    )
    execute(
        "CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {SQLITE_CONTACT_DOC.format(r='new')}); END"
    )
    execute(
        "CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, phone, attributes ON contacts BEGIN "
        "DELETE FROM contacts_fts WHERE rowid = old.id; "
        f"INSERT INTO contacts_fts (rowid, body) VALUES (new.id, {SQLITE_CONTACT_DOC.format(r='new')}); END"
    )
    execute(
        "CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN "
        "DELETE FROM contacts_fts WHERE rowid = old.id; END"
    )
    for statement in SQLITE_REBUILD:  # rows written before this migration
        execute(statement)


def _postgres_upgrade() -> None:
    execute = op.execute
    execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    execute(
        "CREATE OR REPLACE FUNCTION linda_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        f"AS $$ SELECT {pg_fold_sql('t')} $$"
    )
    execute(
        "CREATE OR REPLACE FUNCTION linda_contact_doc(name text, phone text, attributes jsonb) RETURNS text "
        "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT linda_fold(coalesce(name, '') || ' ' || "
        "coalesce(phone, '') || ' ' || "
        "coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(attributes)), '')) $$"
    )
    execute("CREATE INDEX ix_messages_search ON messages USING gin (linda_fold(text) gin_trgm_ops)")
    execute(
        "CREATE INDEX ix_contacts_search ON contacts "
        "USING gin (linda_contact_doc(name, phone, attributes) gin_trgm_ops)"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_upgrade()
    else:
        _postgres_upgrade()


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in ("messages", "contacts"):
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{event}")
            op.execute(f"DROP TABLE IF EXISTS {table}_fts")
        return
    op.execute("DROP INDEX IF EXISTS ix_contacts_search")
    op.execute("DROP INDEX IF EXISTS ix_messages_search")
    op.execute("DROP FUNCTION IF EXISTS linda_contact_doc(text, text, jsonb)")
    op.execute("DROP FUNCTION IF EXISTS linda_fold(text)")
