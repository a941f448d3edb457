"""the mail ledger's audit: each notice's job, a failed run's error, cases looked up by number

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "job", sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default="daily"
            )
        )
        batch_op.create_index("ix_notices_job_day", ["job", "day"], unique=False)
    # Until now the monthly package was told apart by its audience only.
    op.execute("UPDATE notices SET job = 'monthly' WHERE audience LIKE 'cear:%'")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.create_index("ix_notice_items_case", ["case_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notice_items", schema=None) as batch_op:
        batch_op.drop_index("ix_notice_items_case")
    with op.batch_alter_table("job_runs", schema=None) as batch_op:
        batch_op.drop_column("error")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index("ix_notices_job_day")
        batch_op.drop_column("job")
