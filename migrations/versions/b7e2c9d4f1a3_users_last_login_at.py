"""users.last_login_at: when the user last signed in with a password

Revision ID: b7e2c9d4f1a3
Revises: 8d3f5b2a6c41
Create Date: 2026-12-02 03:15:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7e2c9d4f1a3'
down_revision = '8d3f5b2a6c41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('last_login_at')
