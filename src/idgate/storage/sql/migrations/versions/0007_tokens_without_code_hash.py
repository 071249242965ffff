"""Fewer index entries per token. Tokens lose `code_hash` and its index: the tokens issued
from one code share a family derived from the code's hash, and a replayed code revokes that
family (with its rotations). The `sid` index covers refresh tokens only, the one kind that
logout looks up by session.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.drop_index("ix_tokens_code_hash")
        batch.drop_column("code_hash")
        batch.drop_index("ix_tokens_sid")
    op.create_index(
        "ix_tokens_sid",
        "tokens",
        ["sid"],
        sqlite_where=sa.text("kind = 'refresh'"),
        postgresql_where=sa.text("kind = 'refresh'"),
    )


def downgrade() -> None:
    op.drop_index("ix_tokens_sid", table_name="tokens")
    op.create_index("ix_tokens_sid", "tokens", ["sid"])
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_tokens_code_hash", ["code_hash"])
