"""The clinic's connection to Xero (``clinic.xero``): connect, say which organisation, disconnect.

The organisation's id and name are clinic settings (``xero_tenant_id``, ``xero_tenant_name``:
every computer of the clinic syncs to the same one, and each change is audited); the refresh
token is in the keychain of the computer that connected (:class:`~..xero.oauth.TokenStore`),
never in the database. Connecting and disconnecting need the settings permission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from ..access.staff import Permission
from ..domain.errors import BillingError, Refusal
from ..ledger import settings as stored
from ..ledger.guard import requires
from ..xero import oauth
from ..xero.oauth import Endpoints, Organisation, TokenStore
from .base import Manager

TENANT_ID = "xero_tenant_id"
TENANT_NAME = "xero_tenant_name"


class XeroConnection(Manager):
    """Which Xero organisation the clinic syncs to, and connecting to it."""

    def organisation(self) -> Organisation | None:
        """The connected organisation, or None."""

        def read(session: Session) -> Organisation | None:
            tenant = stored.optional_setting(session, TENANT_ID)
            name = stored.optional_setting(session, TENANT_NAME)
            return Organisation(tenant, name) if tenant else None

        return self.store.fetch(read)

    @requires(Permission.SETTINGS)
    def connect(
        self,
        client_id: str,
        open_browser: Callable[[str], object],
        choose: Callable[[Sequence[Organisation]], Organisation],
        *,
        endpoints: Endpoints | None = None,
        port: int = oauth.DEFAULT_PORT,
        tokens: TokenStore | None = None,
    ) -> Organisation:
        """Sign in to Xero in the browser (:func:`~..xero.oauth.authorize`), choose the
        organisation (``choose`` is asked only when there are several), keep its refresh token in
        this computer's keychain and remember it as the clinic's. Refused, with nothing kept,
        when the sign-in fails or allows no organisation."""
        granted = oauth.authorize(client_id, open_browser, endpoints=endpoints, port=port)
        found = oauth.organisations(granted.access_token, endpoints)
        if not found:
            oauth.revoke(client_id, granted.refresh_token, endpoints)
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
        self,
        client_id: str,
        *,
        endpoints: Endpoints | None = None,
        tokens: TokenStore | None = None,
    ) -> Organisation:
        """Revoke the connection on Xero's side, forget the refresh token here and the
        organisation in the clinic's settings. Refused when the clinic is not connected; when
        Xero cannot be reached the connection is kept, so it can be revoked later."""
        connected = self.organisation()
        if connected is None:
            raise BillingError("The clinic is not connected to Xero.", code=Refusal.ALREADY_DONE)
        keychain = tokens or TokenStore()
        refresh_token = keychain.load(connected.tenant_id)
        if refresh_token is not None:
            try:
                oauth.revoke(client_id, refresh_token, endpoints)
            except BillingError as exc:
                if exc.code == Refusal.UNREACHABLE:
                    raise
                # Xero no longer knows the token (revoked there already): nothing to end.
        keychain.forget(connected.tenant_id)
        with self.store.write() as tx:
            stored.change_settings(tx, {TENANT_ID: "", TENANT_NAME: ""})
        return connected
