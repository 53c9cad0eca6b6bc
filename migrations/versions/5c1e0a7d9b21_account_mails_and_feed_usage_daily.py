"""account mail (verification, password reset) and per-user daily feed usage

account_mails: the outbox of verification / reset messages and their tokens
(only a SHA-256 of each). feed_usage_daily: the per-user daily quota counters
copied from Redis for GET /api/users/me/usage.

Revision ID: 5c1e0a7d9b21
Revises: 220a78bf9766
Create Date: 2026-12-02 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5c1e0a7d9b21'
down_revision = '220a78bf9766'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_mails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=255), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_mails')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_mails_token_hash'))
    )
    with op.batch_alter_table('account_mails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_mails_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_mails_sent_at'), ['sent_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_mails_user_id'), ['user_id'], unique=False)

    op.create_table('feed_usage_daily',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('requests', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'day', name=op.f('pk_feed_usage_daily'))
    )


def downgrade():
    op.drop_table('feed_usage_daily')
    with op.batch_alter_table('account_mails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_mails_user_id'))
        batch_op.drop_index(batch_op.f('ix_account_mails_sent_at'))
        batch_op.drop_index(batch_op.f('ix_account_mails_created_at'))

    op.drop_table('account_mails')
