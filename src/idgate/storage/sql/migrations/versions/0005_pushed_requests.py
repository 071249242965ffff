"""Pushed authorization requests (RFC 9126).

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_requests",
        sa.Column("ref_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("ref_hash"),
    )
    op.create_index("ix_pushed_requests_expires_at", "pushed_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_pushed_requests_expires_at", table_name="pushed_requests")
    op.drop_table("pushed_requests")
