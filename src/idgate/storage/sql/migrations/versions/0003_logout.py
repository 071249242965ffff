"""Logout: tokens know their OP session; back-channel deliveries are claimed once.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tokens") as batch:
        batch.add_column(sa.Column("sid", sa.String(length=64), nullable=True))
        batch.create_index("ix_tokens_sid", ["sid"])
    with op.batch_alter_table("session_clients") as batch:
        batch.add_column(sa.Column("logout_notified_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_clients") as batch:
        batch.drop_column("logout_notified_at")
    with op.batch_alter_table("tokens") as batch:
        batch.drop_index("ix_tokens_sid")
        batch.drop_column("sid")
