"""The account mapping checked against the organisation's own chart of accounts and tax rates
(the fake Xero's), before anything is sent: every problem in words, each tax rate resolved to
the code Xero's API takes; from the core and from ``clinic-ledger xero status``."""

from __future__ import annotations

import pytest

from desktop_app.core.interchange.accounting_mapping import AccountMapping
from desktop_app.core.xero.chart import check_chart
from desktop_app.core.xero.client import XeroClient
from tests.xero_fake import CLINIC_CLEARING, FakeXero


@pytest.fixture
def xero():
    fake = FakeXero().start().with_clinic_clearing()
    yield fake
    fake.stop()
    assert fake.invalid == []


def client_of(fake: FakeXero) -> XeroClient:
    return XeroClient(fake.token, fake.tenant, base_url=fake.url)


def test_a_mapping_that_fits_resolves_each_rate_to_xeros_code(xero):
    mapping = AccountMapping(
        clearing_accounts=CLINIC_CLEARING, tax_types={0: "GST Free Income", 1000: "gst on income"}
    )
    check = check_chart(client_of(xero), mapping)
    assert check.ok and check.problems == ()
    assert check.tax_types == {0: "EXEMPTOUTPUT", 1000: "OUTPUT"}


def test_every_misfit_is_named(xero):
    xero.add_account("090", "Business Bank", "BANK", True)
    xero.accounts["CLR-HEALTH"]["Status"] = "ARCHIVED"
    mapping = AccountMapping(
        sales_account="999",
        credit_account="090",
        clearing_accounts={"Cash": "2400", "Health fund": "CLR-HEALTH"},
        tax_types={1000: "GST on Income", 1500: "GST on Income", 2000: "VAT"},
    )
    check = check_chart(client_of(xero), mapping, {1000, 1500, 2000, 500})
    assert not check.ok
    assert check.problems == (
        "The sales account 999 is not in Xero's chart of accounts.",
        "The customer credit account 090 (Business Bank) is a BANK account in Xero, not one of "
        "CURRLIAB, LIABILITY, TERMLIAB.",
        "The Cash clearing account 2400 (Customer credit) is a CURRLIAB account; money received "
        "and held as credit needs a bank account (of the clearing kind) in Xero.",
        "The Health fund clearing account CLR-HEALTH (Health fund clearing) is archived in Xero.",
        "No Xero tax rate is mapped for 5%.",
        "The tax rate 'GST on Income' is 10% in Xero, but it is mapped for 15%.",
        "Xero has no tax rate named 'VAT' (mapped for 20%).",
    )


def test_the_command_line_checks_the_clinics_mapping_with_the_environments_token(
    xero, clinic, monkeypatch, capsys
):
    from desktop_app.app import main

    ada = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(ada, [("Consult", "95", 1, "10")])
    monkeypatch.setenv("CLINIC_XERO_API_BASE", xero.url)
    monkeypatch.setenv("CLINIC_XERO_ACCESS_TOKEN", xero.token)
    monkeypatch.setenv("CLINIC_XERO_TENANT_ID", xero.tenant)
    url = clinic.store.engine.url.render_as_string(hide_password=False)
    clinic.close()
    assert main(["--database", url, "xero", "status"]) == 0
    out = capsys.readouterr().out
    assert "Not connected to Xero" in out
    assert "fits Xero's chart of accounts and tax rates (10% OUTPUT)" in out
    del xero.accounts["CLR-EFTPOS"]
    assert main(["--database", url, "xero", "status"]) == 1
    out = capsys.readouterr().out
    assert "  - The EFTPOS clearing account CLR-EFTPOS is not in Xero's chart of accounts." in out
    monkeypatch.delenv("CLINIC_XERO_ACCESS_TOKEN")
    assert main(["--database", url, "xero", "status"]) == 0
    assert "The account mapping was not checked: The clinic is not connected" in (
        capsys.readouterr().out
    )
