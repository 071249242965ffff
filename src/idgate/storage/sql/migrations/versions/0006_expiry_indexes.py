"""Indexes on expiry columns, so that the background clean-up finds its batches without
scanning whole tables.

Revision ID: 0006
Revises: 0005
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_authorization_codes_expires_at", "authorization_codes", "expires_at"),
    ("ix_tokens_expires_at", "tokens", "expires_at"),
    ("ix_sessions_expires_at", "sessions", "expires_at"),
    ("ix_sessions_ended_at", "sessions", "ended_at"),
    ("ix_interactions_expires_at", "interactions", "expires_at"),
    ("ix_replay_cache_expires_at", "replay_cache", "expires_at"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _column in _INDEXES:
        op.drop_index(name, table_name=table)
