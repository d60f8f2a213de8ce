"""Conversation turns the server keeps, so a turn is predicted with the ones before it.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "conversation_turns",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("tenant", sa.String(200), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("speaker", sa.String(200), nullable=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("request_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_turns_conversation", "conversation_turns", ["tenant", "conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_turns_conversation", table_name="conversation_turns")
    op.drop_table("conversation_turns")
