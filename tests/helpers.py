"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from desktop_app.core import Clinic
from desktop_app.core.db.models import Base


def snapshot(clinic: Clinic) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every ledger table, in a stable order: to show a refusal changed nothing."""
    tables = [*Base.metadata.sorted_tables]
    with clinic.engine.connect() as conn:
        result = {
            table.name: [
                tuple(row)
                for row in conn.execute(table.select().order_by(*table.primary_key.columns))
            ]
            for table in tables
        }
        result["alembic_version"] = [
            tuple(r) for r in conn.execute(text("SELECT version_num FROM alembic_version"))
        ]
    return result
