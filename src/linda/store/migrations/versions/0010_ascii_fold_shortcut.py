"""PostgreSQL's linda_fold takes a short way for ASCII text, and linda_contact_doc folds its text once

NFKC and the spacing of Chinese and Japanese characters change nothing in ASCII text, and of the folding table
only its ASCII entries can apply there; PostgreSQL's translate reads its whole table for every character.
linda_fold now names its argument three times, so PostgreSQL would no longer inline it where the argument holds
a subquery (the contact document's attribute values): linda_contact_doc computes its text in a subquery of its
own first (OFFSET 0 keeps it apart). Imports and message writes compute these for every row.

The results are the same for every text (tests compare them with linda.query.fold), so the indexes built on
the functions (messages and contacts search) stay valid as they are.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from linda.query.fold import pg_fold_function_sql, pg_fold_sql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOLD = (
    "CREATE OR REPLACE FUNCTION linda_fold(t text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE "
    "AS $$ SELECT {} $$"
)
TEXT = "coalesce(name, '') || ' ' || coalesce((SELECT string_agg(value, ' ') FROM jsonb_each_text(attributes)), '')"
DOCUMENT = (
    "CREATE OR REPLACE FUNCTION linda_contact_doc(name text, attributes jsonb) RETURNS text LANGUAGE sql "
    "IMMUTABLE PARALLEL SAFE AS $$ SELECT {} $$"
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FOLD.format(pg_fold_function_sql("t")))
        op.execute(DOCUMENT.format(f"linda_fold(document) FROM (SELECT {TEXT} AS document OFFSET 0) AS text"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FOLD.format(pg_fold_sql("t")))
        op.execute(DOCUMENT.format(f"linda_fold({TEXT})"))
