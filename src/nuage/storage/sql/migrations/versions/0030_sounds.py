"""Sound files that play (issues #15 and #16): their audio's length, the account's music on hold

sound_files.duration_ms: the converted audio's length (the 8 kHz WAV kept in the data directory;
null for files uploaded before audio was kept). hold_music_settings: one row per account naming
the sound file its held parties hear (none: the platform's default).

Revision ID: 0030_sounds
Revises: 0020
Create Date: 2026-12-05 11:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_sounds"
down_revision: str | None = "0033_ucaas_upstream"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sound_files", schema=None) as batch_op:
        batch_op.add_column(sa.Column("duration_ms", sa.Integer(), nullable=True))
    op.create_table(
        "hold_music_settings",
        sa.Column("account_id", sa.String(length=40), nullable=False),
        sa.Column("sound_file_id", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"], ["parties.id"], name=op.f("fk_hold_music_settings_account_id_parties")
        ),
        sa.ForeignKeyConstraint(
            ["sound_file_id"], ["sound_files.id"], name=op.f("fk_hold_music_settings_sound_file_id_sound_files")
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_hold_music_settings")),
    )


def downgrade() -> None:
    op.drop_table("hold_music_settings")
    with op.batch_alter_table("sound_files", schema=None) as batch_op:
        batch_op.drop_column("duration_ms")
