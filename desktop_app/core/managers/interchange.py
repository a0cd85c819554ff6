"""``clinic.interchange``: what leaves the ledger and comes back: the accounting export and its
account mapping, the CSV import's saved column mappings, backups and restores.

The import and the CSV export take the clinic itself (``import_file(clinic, ...)``,
``export_csv(clinic, ...)``, :mod:`desktop_app.core.interchange.importing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..domain.errors import BillingError, Refusal, bad_file
from ..domain.text import required_line
from ..interchange import accounting_export, import_mapping
from ..interchange import accounting_mapping as mapping_rules
from ..interchange.backup import BackupResult, RestoreResult, backup_database, restore_database
from ..ledger import settings as stored
from ..ledger.guard import requires
from .base import Manager, until_today

#: The setting holding the import's saved column mappings (``{kind: {name: {column: field}}}``).
IMPORT_MAPPINGS_SETTING = "import_mappings"
#: The longest name of a saved import mapping.
MAX_MAPPING_NAME = 80


class Interchange(Manager):
    """The accounting export, backups and restores."""

    @requires(Permission.EXPORTS)
    def accounting_mapping(self) -> mapping_rules.AccountMapping:
        """Which Xero account each part of the ledger goes to (defaults until saved)."""
        with self.store.read() as session:
            return self._mapping(session)

    @staticmethod
    def _mapping(session: Session) -> mapping_rules.AccountMapping:
        return mapping_rules.load_mapping(
            session, stored.currency(session), stored.payment_type_names(session)
        )

    @requires(Permission.SETTINGS)
    def set_accounting_mapping(self, mapping: mapping_rules.AccountMapping) -> None:
        """Save the account mapping (checked first: a bad code changes nothing)."""
        checked = mapping_rules.check_mapping(mapping)
        with self.store.write() as tx:
            stored.change_setting(tx, mapping_rules.MAPPING_SETTING, checked.to_json())

    @requires(Permission.IMPORTS)
    def import_mappings(self, kind: str) -> dict[str, dict[str, str]]:
        """The column mappings saved for importing ``kind`` files, by name (``{"Previous
        system": {"Client No": "external_id", "Fax": "ignore"}}``), shared by every computer."""
        from ..interchange.importing import COLUMNS  # the importer, only when mappings are used

        if kind not in COLUMNS:
            raise BillingError(
                f"Unknown import kind {kind!r}.", code=Refusal.BAD_CHOICE, field="kind"
            )
        with self.store.read() as session:
            saved = stored.optional_setting(session, IMPORT_MAPPINGS_SETTING)
        return import_mapping.mappings_from_json(saved).get(kind, {})

    @requires(Permission.IMPORTS)
    def save_import_mapping(self, kind: str, name: str, mapping: Mapping[str, str]) -> None:
        """Save ``mapping`` (file column -> field, or ``ignore``) for ``kind`` files under
        ``name``, replacing one of that name; checked first (an unknown field, or two columns
        for one field, is refused and nothing is saved). An empty mapping removes the name."""
        from ..interchange.importing import COLUMNS

        if kind not in COLUMNS:
            raise BillingError(
                f"Unknown import kind {kind!r}.", code=Refusal.BAD_CHOICE, field="kind"
            )
        label = required_line(name, "mapping's name", MAX_MAPPING_NAME, field="name")
        import_mapping.check_mapping(kind, COLUMNS[kind], mapping)
        with self.store.write() as tx:
            saved = import_mapping.mappings_from_json(
                stored.optional_setting(tx.session, IMPORT_MAPPINGS_SETTING)
            )
            named = saved.setdefault(kind, {})
            if mapping:
                named[label] = {str(k).strip(): str(v).strip() for k, v in mapping.items()}
            else:
                named.pop(label, None)
            stored.change_setting(tx, IMPORT_MAPPINGS_SETTING, import_mapping.mapping_json(saved))

    @requires(Permission.EXPORTS)
    def preview_accounting_export(
        self, through: date | None = None
    ) -> accounting_export.ExportSummary:
        """What the next accounting export would send (records dated up to ``through``, today by
        default, not exported yet, and changes to exported ones); nothing is written."""
        day = until_today(through, "export's last")
        with self.store.read() as session:
            batch = accounting_export.build_export(
                session, self._mapping(session), stored.currency(session), day
            )
            return accounting_export.summary_of(batch, day, None, None)

    @requires(Permission.EXPORTS)
    def export_accounting(
        self, parent: Path | str, through: date | None = None
    ) -> accounting_export.ExportSummary:
        """Write the next accounting export into a new folder inside ``parent`` and remember what
        it sent. Refused (nothing written or saved) when nothing is new or changed, the mapping
        lacks an account, or the folder cannot be written."""
        day = until_today(through, "export's last")
        parent = Path(parent)
        if not parent.is_dir():
            raise BillingError(
                f"The folder {parent} does not exist.", code=Refusal.BAD_FILE, field="folder"
            )
        partial: Path | None = None
        renamed: Path | None = None
        try:
            with self.store.write() as tx:
                currency = tx.currency(exclusive=True)
                batch = accounting_export.build_export(
                    tx.session, self._mapping(tx.session), currency, day
                )
                if not (batch.new or batch.changed or batch.skipped):  # deferred ones only
                    raise BillingError(
                        "Nothing to export: nothing is new or changed since the last export.",
                        code=Refusal.NOTHING_TO_SAVE,
                    )
                export_id, final = accounting_export.save_export(tx, batch, day, parent)
                partial = final.with_name(final.name + ".part")
                if final.exists() or partial.exists():
                    partial = None  # not ours: left as it is
                    raise BillingError(
                        f"{final} already exists; choose another folder.",
                        code=Refusal.DUPLICATE,
                        field="folder",
                    )
                try:
                    accounting_export.write_files(batch, partial)
                    # Renamed before the commit: an export is saved only once its folder is in
                    # place (a failed commit removes the folder again, below).
                    partial.replace(final)
                except OSError as exc:
                    raise bad_file(
                        f"The export could not be written to {parent}: {exc.strerror}.",
                        field="folder",
                    ) from None
                renamed = final
        except BaseException:
            if partial is not None:
                accounting_export.remove_partial(partial)
            if renamed is not None:  # written, but the database did not take it
                accounting_export.remove_partial(renamed)
            raise
        return accounting_export.summary_of(batch, day, export_id, final)

    @requires(Permission.EXPORTS)
    def accounting_exports(self) -> list[accounting_export.ExportRecord]:
        """Every accounting export so far, newest first."""
        with self.store.read() as session:
            return accounting_export.past_exports(session)

    @requires(Permission.BACKUP)
    def backup(self, destination: Path | str) -> BackupResult:
        """Save a checked copy of the clinic's SQLite database to ``destination`` (a file, or a
        folder for a dated name); see :func:`~desktop_app.core.interchange.backup.backup_database`.

        Raises:
            PermissionDenied: the signed-in role may not back up (administrators only: a backup
                holds every patient's billing and the staff password hashes); no file is written.
            ServerBackupError: the clinic is on PostgreSQL (the message says how to back it up).
            BillingError: the backup could not be made; nothing is left under that name.
        """
        return backup_database(self.store, destination)

    @requires(Permission.BACKUP)
    def restore(self, backup_path: Path | str) -> RestoreResult:
        """Replace the clinic's SQLite database with a checked backup, keeping the current one
        next to it; see :func:`~desktop_app.core.interchange.backup.restore_database`. This clinic's
        connections are closed first; open the clinic again to use the restored ledger.

        Raises:
            PermissionDenied: the signed-in role may not restore (administrators only); nothing
                is closed or changed.
            ServerBackupError, DatabaseBusyError, BillingError: as ``restore_database``.
        """
        url = self.store.engine.url.render_as_string(hide_password=False)
        self.store.engine.dispose()
        return restore_database(backup_path, url)
