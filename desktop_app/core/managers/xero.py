"""The clinic's connection to Xero (``clinic.xero``): connect, say which organisation, disconnect.

The organisation's id and name are clinic settings (``xero_tenant_id``, ``xero_tenant_name``:
every computer of the clinic syncs to the same one, and each change is audited); the refresh
token is in the keychain of the computer that connected (:class:`~..xero.oauth.TokenStore`),
never in the database. Connecting and disconnecting need the settings permission.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..db.models import Invoice, InvoiceLine, Patient, Setting, XeroSyncRun
from ..domain.currencies import MINOR_UNITS
from ..domain.errors import BillingError, Refusal
from ..domain.kinds import InvoiceStatus
from ..interchange.accounting_export import past_exports
from ..interchange.accounting_mapping import AccountMapping, load_mapping
from ..ledger import audit
from ..ledger import settings as stored
from ..ledger.guard import requires
from ..xero import oauth, status
from ..xero.chart import ChartCheck, XeroChart, check_chart, read_chart
from ..xero.client import DEFAULT_BASE, XeroClient
from ..xero.desired import read_desired
from ..xero.documents import Shape
from ..xero.links import read_links, write_links
from ..xero.oauth import Setup, TokenStore, XeroOrganisation
from ..xero.sync import Link, Sync, SyncReport
from .base import Manager

TENANT_ID = "xero_tenant_id"
#: Minutes between automatic syncs while the app is open (0 or absent: only when asked).
SYNC_MINUTES = "xero_sync_minutes"
#: Who is syncing and since when (``"actor|ISO time"``); empty when no sync runs. A sync refuses
#: to start beside another one younger than :data:`LEASE_MINUTES` (one left by a crash expires).
LEASE = "xero_sync_lease"
LEASE_MINUTES = 30


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One sync in the log: when, by whom, its calls, documents sent and refused, the
    differences left, and what they were (one per line)."""

    at: datetime
    actor: str
    calls: int
    sent: int
    refused: int
    differences: int
    summary: str


TENANT_NAME = "xero_tenant_name"


def _rates_in_use(session: Session) -> set[int]:
    """The tax rates on issued invoices' lines (hundredths of a percent)."""
    return set(
        session.scalars(
            select(InvoiceLine.tax_rate_bp)
            .distinct()
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(Invoice.status.in_((InvoiceStatus.OPEN, InvoiceStatus.PAID)))
        )
    )


class XeroConnection(Manager):
    """Which Xero organisation the clinic syncs to, and connecting to it."""

    def organisation(self) -> XeroOrganisation | None:
        """The connected organisation, or None."""

        def read(session: Session) -> XeroOrganisation | None:
            tenant = stored.optional_setting(session, TENANT_ID)
            name = stored.optional_setting(session, TENANT_NAME)
            return XeroOrganisation(tenant, name) if tenant else None

        return self.store.fetch(read)

    @requires(Permission.SETTINGS)
    def connect(
        self,
        open_browser: Callable[[str], object],
        choose: Callable[[Sequence[XeroOrganisation]], XeroOrganisation],
        *,
        setup: Setup | None = None,
        tokens: TokenStore | None = None,
    ) -> XeroOrganisation:
        """Sign in to Xero in the browser (:func:`~..xero.oauth.authorize`), choose the
        organisation (``choose`` is asked only when there are several), keep its refresh token in
        this computer's keychain and remember it as the clinic's. ``setup`` defaults to the
        environment's (:meth:`Setup.from_environment`). Refused, with nothing kept, when the
        sign-in fails or allows no organisation."""
        given = setup or Setup.from_environment()
        ends = given.endpoints
        granted = oauth.authorize(given.client_id, open_browser, endpoints=ends, port=given.port)
        found = oauth.organisations(granted.access_token, ends)
        if not found:
            oauth.revoke(given.client_id, granted.refresh_token, ends)
            raise BillingError(
                "The Xero sign-in allowed no organisation; connect again and tick the "
                "clinic's organisation.",
                code=Refusal.NOT_FOUND,
            )
        chosen = found[0] if len(found) == 1 else choose(found)
        if chosen not in found:
            raise BillingError(
                f"{chosen.name} is not one of the organisations the sign-in allowed.",
                code=Refusal.BAD_CHOICE,
            )
        (tokens or TokenStore()).save(chosen.tenant_id, granted.refresh_token)
        with self.store.write() as tx:
            stored.change_settings(tx, {TENANT_ID: chosen.tenant_id, TENANT_NAME: chosen.name})
        return chosen

    @requires(Permission.SETTINGS)
    def disconnect(
        self, *, setup: Setup | None = None, tokens: TokenStore | None = None
    ) -> XeroOrganisation:
        """Revoke the connection on Xero's side, forget the refresh token here and the
        organisation in the clinic's settings. Refused when the clinic is not connected; when
        Xero cannot be reached the connection is kept, so it can be revoked later. A computer
        that did not connect holds no token to revoke: the organisation is forgotten, and the
        sign-in stays listed in Xero's connected apps until it is removed there."""
        connected = self.organisation()
        if connected is None:
            raise BillingError("The clinic is not connected to Xero.", code=Refusal.ALREADY_DONE)
        given = setup or Setup.from_environment()
        keychain = tokens or TokenStore()
        refresh_token = keychain.load(connected.tenant_id)
        if refresh_token is not None:
            try:
                oauth.revoke(given.client_id, refresh_token, given.endpoints)
            except BillingError as exc:
                if exc.code == Refusal.UNREACHABLE:
                    raise
                # Xero no longer knows the token (revoked there already): nothing to end.
        keychain.forget(connected.tenant_id)
        with self.store.write() as tx:
            stored.change_settings(tx, {TENANT_ID: "", TENANT_NAME: ""})
        return replace(connected, revoked=refresh_token is not None)

    @requires(Permission.EXPORTS)
    def client(
        self,
        *,
        setup: Setup | None = None,
        tokens: TokenStore | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> XeroClient:
        """A client for the clinic's organisation. With ``CLINIC_XERO_ACCESS_TOKEN`` and
        ``CLINIC_XERO_TENANT_ID`` both set (scripts, tests) it uses them and stores nothing;
        otherwise it renews this computer's sign-in (the keychain's refresh token, replaced by
        the new one Xero gives). ``CLINIC_XERO_API_BASE`` replaces Xero's API address."""
        env = os.environ if environ is None else environ
        base = env.get("CLINIC_XERO_API_BASE") or DEFAULT_BASE
        token, tenant = env.get("CLINIC_XERO_ACCESS_TOKEN"), env.get("CLINIC_XERO_TENANT_ID")
        if token and tenant:
            return XeroClient(token, tenant, base_url=base)
        connected = self.organisation()
        if connected is None:
            raise BillingError(
                "The clinic is not connected to Xero (Tools > Xero > Connect).",
                code=Refusal.MISSING,
            )
        keychain = tokens or TokenStore()
        refresh_token = keychain.load(connected.tenant_id)
        if refresh_token is None:
            raise BillingError(
                f"This computer holds no Xero sign-in for {connected.name}; connect again from "
                "this computer (Tools > Xero > Connect).",
                code=Refusal.MISSING,
            )
        given = setup or Setup.from_environment(env)
        renewed = oauth.refresh(given.client_id, refresh_token, given.endpoints)
        keychain.save(connected.tenant_id, renewed.refresh_token)
        return XeroClient(renewed.access_token, connected.tenant_id, base_url=base)

    @requires(Permission.EXPORTS)
    def chart(self, client: XeroClient) -> tuple[XeroChart, list[int]]:
        """The organisation's accounts and tax rates (:func:`~..xero.chart.read_chart`) and
        the tax rates (hundredths of a percent) the clinic's issued invoices use, to choose the
        account mapping from."""
        return read_chart(client), sorted(self.store.fetch(_rates_in_use))

    @requires(Permission.EXPORTS)
    def check_chart(self, client: XeroClient) -> ChartCheck:
        """The accounting mapping checked against the organisation's chart of accounts and tax
        rates (:func:`~..xero.chart.check_chart`), for the tax rates the issued invoices use."""

        def read(session: Session) -> tuple[AccountMapping, set[int]]:
            mapping = load_mapping(
                session, stored.currency(session), stored.payment_type_names(session)
            )
            return mapping, _rates_in_use(session)

        mapping, rates = self.store.fetch(read)
        return check_chart(client, mapping, rates)

    @requires(Permission.EXPORTS)
    def sync(
        self, client: XeroClient, *, dry_run: bool = False, after_exports: bool = False
    ) -> SyncReport:
        """Make the organisation hold what the ledger does (:mod:`~..xero.sync`): refused with
        every misfit when the mapping does not fit Xero's chart (nothing sent). With
        ``dry_run`` only Xero's chart is read: the report counts what would be sent.

        A clinic that sent its ledger to Xero by export files is refused its first sync
        (``field`` ``after_exports``): the sync would enter those records a second time.
        ``after_exports`` says the organisation does not hold them (a new organisation, or
        they were removed there)."""
        chart = self.check_chart(client)
        if not chart.ok:
            raise BillingError(
                "The account mapping does not fit the Xero organisation yet:\n- "
                + "\n- ".join(chart.problems),
                code=Refusal.BAD_CHOICE,
                field="mapping",
            )

        def read(session: Session) -> tuple[Any, ...]:
            currency = stored.currency(session)
            names = stored.payment_type_names(session)
            mapping = load_mapping(session, currency, names)
            credit = dict(
                session.execute(
                    select(Patient.id, Patient.credit_minor).where(Patient.credit_minor != 0)
                ).all()
            )
            return read_desired(session, currency), read_links(session), mapping, currency, credit

        if not dry_run:
            # Before reading: what another computer's sync sent is in the links read below.
            self._take_lease()
        try:
            return self._sync(client, chart, read, dry_run, after_exports)
        finally:
            if not dry_run:
                self._end_lease()

    def _sync(
        self,
        client: XeroClient,
        chart: ChartCheck,
        read: Callable[[Session], tuple[Any, ...]],
        dry_run: bool,
        after_exports: bool,
    ) -> SyncReport:
        want, links, mapping, currency, credit = self.store.fetch(read)
        if not (dry_run or after_exports or links):
            exports = self.store.fetch(past_exports)
            if exports:
                raise BillingError(
                    f"This clinic sent its ledger to Xero by export files ({len(exports)}, the "
                    f"last of records up to {exports[0].through:%Y-%m-%d}). A sync would enter "
                    "those invoices, payments and credit in Xero a second time. Sync only to an "
                    "organisation that does not hold them (a new one, or after removing them "
                    "there), or keep using Tools > Accounting export.",
                    code=Refusal.BAD_CHOICE,
                    field="after_exports",
                )
        clearing = mapping.clearing_accounts  # transfers go through the first type's account
        transfer = clearing[min(clearing)] if clearing else mapping.credit_account
        shape = Shape(mapping, chart.tax_types, MINOR_UNITS[currency], transfer)

        def save(changed: list[Link]) -> None:
            with self.store.write() as tx:
                write_links(tx.session, changed)

        engine = Sync(want, links, shape, None if dry_run else client, save, credit)
        if dry_run:
            return engine.run()
        stopped: BaseException | None = None
        try:
            return engine.run()
        except BaseException as exc:  # logged below, then raised: the log says where it stopped
            stopped = exc
            raise
        finally:
            done = engine.report
            done.calls, done.writes = client.calls, client.writes
            self._log(done, stopped)

    def _log(self, report: SyncReport, stopped: BaseException | None) -> None:
        """One line in the sync log, with what differs (or where the sync stopped)."""
        lines = [f"Stopped: {stopped}"] if stopped is not None else []
        lines += [*report.refused, *report.waiting]
        lines += [
            f"{d.what}: here {d.here}, in Xero {d.there} ({d.reason})" for d in report.differences
        ]
        with self.store.write() as tx:
            tx.session.add(
                XeroSyncRun(
                    started_at=audit.moment(tx.session),
                    actor=tx.actor,
                    calls=report.calls,
                    sent=report.sent,
                    refused=len(report.refused),
                    differences=len(report.differences)
                    + len(report.waiting)
                    + (stopped is not None),
                    summary="\n".join(lines),
                )
            )

    def _take_lease(self) -> None:
        """Mark the sync as running, or refuse while another computer's sync runs."""
        with self.store.write() as tx:
            row = tx.session.get(Setting, LEASE, with_for_update=True)
            now = audit.moment(tx.session)
            if row is not None and row.value:
                who, _, since = row.value.partition("|")
                started = datetime.fromisoformat(since)
                if now - started < timedelta(minutes=LEASE_MINUTES):
                    raise BillingError(
                        f"A sync by {who} is running since {started.astimezone():%H:%M}; "
                        "this one waits for it to end.",
                        code=Refusal.CONCURRENT_CHANGE,
                    )
            if row is None:
                row = Setting(key=LEASE, value="")
                tx.session.add(row)
            row.value = f"{tx.actor}|{now.isoformat()}"

    def _end_lease(self) -> None:
        with self.store.write() as tx:
            row = tx.session.get(Setting, LEASE, with_for_update=True)
            if row is not None:
                row.value = ""

    def sync_minutes(self) -> int:
        """Minutes between automatic syncs while the app is open (0: only when asked)."""
        text = self.store.fetch(lambda session: stored.optional_setting(session, SYNC_MINUTES))
        return int(text) if text.isdigit() else 0

    @requires(Permission.SETTINGS)
    def set_sync_minutes(self, minutes: int) -> None:
        """Sync every ``minutes`` (5 to 1440) while the app is open; 0 turns it off."""
        if (
            isinstance(minutes, bool)
            or not isinstance(minutes, int)
            or not (minutes == 0 or 5 <= minutes <= 1440)
        ):
            raise BillingError(
                "Sync every 5 to 1,440 minutes, or 0 for only when asked.",
                code=Refusal.BAD_AMOUNT,
                field="minutes",
            )
        with self.store.write() as tx:
            stored.change_setting(tx, SYNC_MINUTES, str(minutes) if minutes else "")

    def sync_runs(self, limit: int = 20) -> list[SyncRun]:
        """The latest syncs, newest first (the sync log)."""

        def read(session: Session) -> list[SyncRun]:
            rows = session.scalars(
                select(XeroSyncRun).order_by(XeroSyncRun.id.desc()).limit(limit)
            ).all()
            return [
                SyncRun(
                    # SQLite gives back the UTC moment without its zone.
                    r.started_at if r.started_at.tzinfo else r.started_at.replace(tzinfo=UTC),
                    r.actor,
                    r.calls,
                    r.sent,
                    r.refused,
                    r.differences,
                    r.summary,
                )
                for r in rows
            ]

        return self.store.fetch(read)

    def invoice_states(self, invoice_ids: Sequence[int]) -> dict[int, str]:
        """Each invoice's standing with Xero (:mod:`~..xero.status`)."""
        return self.store.fetch(lambda session: status.invoice_states(session, invoice_ids))

    def payment_states(self, payment_ids: Sequence[int]) -> dict[int, str]:
        """Each payment's standing with Xero (:mod:`~..xero.status`)."""
        return self.store.fetch(lambda session: status.payment_states(session, payment_ids))
