"""Tokens lose `code_hash` and its index: the tokens issued from one code share a family
derived from the code's hash, and a replayed code revokes that family (with its rotations).

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


def downgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("code_hash", sa.String(length=64), nullable=True))
        batch.create_index("ix_tokens_code_hash", ["code_hash"])
