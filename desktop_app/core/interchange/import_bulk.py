"""Writing an import in bulk: :class:`BulkWriter`, the set-based inserts and updates of one import
in its own transaction (executemany in chunks on SQLite, ``COPY`` on PostgreSQL), reporting
progress and honouring a cancel as the rows are written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import BigInteger, Date, DateTime, Table, bindparam, insert, update
from sqlalchemy import column as sql_column
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from ..db.models import Patient
from .import_csv import chunks
from .import_rows import TICK, ImportRun

#: Rows per bulk insert (one executemany on SQLite).
WRITE_CHUNK = 1000


def table_of(model: type[Any]) -> Table:
    """The Core table of an ORM model."""
    return cast(Table, model.__table__)


class BulkWriter:
    """Set-based writes for one import, in the import's transaction.

    On SQLite each table's rows are one SQLAlchemy Core ``insert()``, compiled once and executed
    through the session's connection as one executemany per chunk of 1,000 rows (the DBAPI's
    ``executemany``: no per-row statement or parameter processing). On PostgreSQL they are one
    ``COPY`` per table. Values are bound by the real column types once per distinct value (a
    date, the import's timestamp), not once per row.
    """

    def __init__(self, session: Session, run: ImportRun, batch_id: int, stamp: datetime) -> None:
        self.session = session
        self.conn = session.connection()
        self.run = run
        self.batch_id = batch_id
        dialect = self.conn.dialect
        self.postgres = dialect.name == "postgresql"
        self._day = Date().dialect_impl(dialect).bind_processor(dialect)
        stamp_type = DateTime(timezone=True).dialect_impl(dialect)
        bind_stamp = stamp_type.bind_processor(dialect)
        self.stamp = stamp if bind_stamp is None else bind_stamp(stamp)
        self._days: dict[date, Any] = {}

    def day(self, value: date | None) -> Any:
        """A date as the database's driver takes it."""
        if value is None or self._day is None:
            return value
        try:
            return self._days[value]
        except KeyError:
            bound = self._days[value] = self._day(value)
            return bound

    def insert(
        self,
        model: type[Any],
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        progress: tuple[int, int] | None = None,
    ) -> None:
        """Insert ``rows`` (values in the order of ``columns``).

        ``progress`` ``(start, span)`` moves the steps from ``start`` to ``start + span`` as the
        rows are written, about every 1,000 rows (a cancel is honoured as often).
        """
        if not rows:
            return
        real = table_of(model)
        for name in columns:
            assert name in real.c, name
        if self.postgres:
            self._copy(real, columns, rows, progress)
            return
        light = sql_table(real.name, *(sql_column(name) for name in columns))
        compiled = insert(light).compile(dialect=self.conn.dialect, column_keys=list(columns))
        statement, order = str(compiled), compiled.positiontup
        if order is not None and list(order) != list(columns):
            pick = itemgetter(*(list(columns).index(name) for name in order))
            rows = [tuple(pick(r)) for r in rows]
        written = 0
        for part in chunks(rows, WRITE_CHUNK):
            batch: list[Any] = list(part)
            if order is None:  # a driver taking named parameters
                batch = [dict(zip(columns, r, strict=True)) for r in part]
            self.conn.exec_driver_sql(statement, batch)
            written += len(part)
            if progress is not None:
                start, span = progress
                self.run.tick(start + span * written // len(rows))

    def _copy(
        self,
        table: Table,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        progress: tuple[int, int] | None,
    ) -> None:
        """PostgreSQL's ``COPY ... FROM STDIN`` on the transaction's own connection: several
        times faster there than multi-row INSERTs. A cancel aborts it, and the transaction rolls
        back."""
        quote = self.conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(name) for name in columns)
        dbapi: Any = self.conn.connection.dbapi_connection
        with (
            dbapi.cursor() as cursor,
            cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
        ):
            for written, row in enumerate(rows, 1):
                copy.write_row(row)
                if progress is not None and (written % TICK == 0 or written == len(rows)):
                    start, span = progress
                    self.run.tick(start + span * written // len(rows))

    def add_to_patients(self, changes: dict[int, tuple[int, int]]) -> None:
        """Add ``(credit, outstanding)`` changes to each patient's cached figures, in id order
        (on PostgreSQL the patients' rows are locked in that order)."""
        patients = table_of(Patient)
        statement = (
            update(patients)
            .where(patients.c.id == bindparam("pid"))
            .values(
                credit_minor=patients.c.credit_minor + bindparam("credit", type_=BigInteger),
                outstanding_minor=patients.c.outstanding_minor
                + bindparam("owed", type_=BigInteger),
            )
        )
        params = [
            {"pid": pid, "credit": credit, "owed": owed}
            for pid, (credit, owed) in sorted(changes.items())
            if credit or owed
        ]
        for part in chunks(params, WRITE_CHUNK):
            self.conn.execute(statement, list(part))


# -- looking up what the clinic already has ------------------------------------------------------
