"""The first run's answers: what each country proposes, saving them at once, and refusals."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from desktop_app.core import (
    COUNTRIES,
    OTHER_COUNTRY,
    BillingError,
    Clinic,
    PermissionDenied,
    Refusal,
    region_for,
)
from tests.helpers import snapshot


def test_each_country_proposes_its_currency_locale_and_tax():
    proposals = {
        country: (r.currency, r.locale, r.tax_name, r.tax_rate, r.prices_include_tax)
        for country in COUNTRIES
        if (r := region_for(country)) is not None
    }
    assert proposals == {
        "Australia": ("AUD", "en_AU", "GST", Decimal("10"), True),
        "New Zealand": ("NZD", "en_NZ", "GST", Decimal("15"), True),
        "United Kingdom": ("GBP", "en_GB", "VAT", Decimal("20"), True),
        "United States": ("USD", "en_US", "", Decimal("0"), False),
        "Canada": ("CAD", "en_CA", "GST", Decimal("5"), False),
        "Ireland": ("EUR", "en_IE", "VAT", Decimal("23"), True),
    }
    assert COUNTRIES[-1] == OTHER_COUNTRY and region_for(OTHER_COUNTRY) is None
    with pytest.raises(BillingError) as refused:
        region_for("Atlantis")
    assert refused.value.code == Refusal.BAD_CHOICE and refused.value.field == "country"


def test_a_new_clinic_needs_its_first_run_and_a_saved_one_does_not(clinic: Clinic):
    assert clinic.needs_first_run
    profile = clinic.clinic_profile()
    assert (profile.clinic_name, profile.currency, profile.country) == ("My Clinic", "AUD", "")
    saved = clinic.set_up_clinic(clinic_name="Kiwi Physio", country="New Zealand")
    assert saved == clinic.clinic_profile()
    assert (saved.clinic_name, saved.country, saved.currency, saved.locale) == (
        "Kiwi Physio",
        "New Zealand",
        "NZD",
        "en_NZ",
    )
    assert (saved.tax_name, saved.tax_rate, saved.tax_basis_points) == ("GST", Decimal(15), 1500)
    assert saved.prices_include_tax
    assert clinic.currency == "NZD" and clinic.clinic_name == "Kiwi Physio"
    assert not clinic.needs_first_run
    assert not Clinic(clinic.engine).needs_first_run  # as the next start sees it


def test_the_first_run_is_one_audit_entry_naming_each_answer(clinic: Clinic):
    before = clinic.audit_count()
    clinic.set_up_clinic(
        clinic_name="Harbour Health",
        country="Canada",
        tax_name="HST",
        tax_rate="13",
        prices_include_tax=True,
    )
    assert clinic.audit_count() == before + 1
    [entry] = clinic.audit_entries_by_ids(clinic.audit_entry_ids()[:1])
    assert entry.action == "change setting"
    assert entry.before is not None and entry.after is not None
    assert entry.after["clinic_name"] == "Harbour Health"
    assert entry.before["clinic_name"] == "My Clinic"
    assert entry.after["currency"] == "CAD" and entry.before["currency"] == "AUD"
    assert entry.after["tax_name"] == "HST" and entry.after["tax_rate"] == "13"
    assert entry.after["prices_include_tax"] == "yes" and entry.after["country"] == "Canada"
    assert date.fromisoformat(entry.after["set_up_on"])
    assert "clinic name from 'My Clinic' to 'Harbour Health'" in entry.summary


def test_every_proposal_can_be_changed_and_other_takes_what_is_typed(clinic: Clinic):
    saved = clinic.set_up_clinic(
        clinic_name="Clinique",
        country=OTHER_COUNTRY,
        currency="chf",
        locale="fr_CH",
        tax_name="TVA",
        tax_rate=Decimal("8.10"),
        prices_include_tax=False,
    )
    assert (saved.country, saved.currency, saved.locale, saved.tax_name) == (
        "Other",
        "CHF",
        "fr_CH",
        "TVA",
    )
    assert saved.tax_rate == Decimal("8.1") and saved.tax_basis_points == 810
    assert not saved.prices_include_tax
    us = clinic.set_up_clinic(clinic_name="Clinique", country="United States")
    assert (us.currency, us.tax_name, us.tax_rate, us.prices_include_tax) == (
        "USD",
        "",
        0,
        False,
    )


@pytest.mark.parametrize(
    ("answers", "code", "field"),
    [
        ({"clinic_name": "  "}, Refusal.MISSING, "clinic_name"),
        ({"country": "Atlantis"}, Refusal.BAD_CHOICE, "country"),
        ({"currency": "XYZ"}, Refusal.BAD_CHOICE, "currency"),
        ({"country": OTHER_COUNTRY}, Refusal.MISSING, "currency"),
        ({"tax_rate": "100.01"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "-1"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "12.345"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "fifteen"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": 15.0}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "NaN"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "1e1"}, Refusal.BAD_AMOUNT, "tax_rate"),
        ({"tax_rate": "\u0661\u0665"}, Refusal.BAD_AMOUNT, "tax_rate"),  # Arabic-Indic 15
        ({"tax_name": "", "tax_rate": "15"}, Refusal.MISSING, "tax_name"),
        ({"tax_name": "G\nST"}, Refusal.BAD_TEXT, "tax_name"),
        ({"locale": "New Zealand"}, Refusal.BAD_CHOICE, "locale"),
        ({"prices_include_tax": "yes"}, Refusal.BAD_CHOICE, "prices_include_tax"),
    ],
)
def test_bad_answers_are_refused_and_nothing_is_saved(clinic: Clinic, answers, code, field):
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.set_up_clinic(**{"clinic_name": "Kiwi Physio", "country": "New Zealand", **answers})
    assert (refused.value.code, refused.value.field) == (code, field)
    assert str(refused.value)  # a message to act on
    assert snapshot(clinic) == before
    assert clinic.needs_first_run


def test_the_currency_still_locks_at_the_first_invoice(clinic: Clinic):
    patient = clinic.add_patient("Ada", "Lovelace")
    clinic.create_invoice(patient, [("Consultation", "80.00", 1)])
    assert not clinic.needs_first_run  # a clinic with invoices was set up long ago
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.set_up_clinic(clinic_name="Kiwi Physio", country="New Zealand")
    assert refused.value.code == Refusal.CURRENCY_IN_USE
    assert snapshot(clinic) == before
    # The same currency is no change: the rest is saved.
    saved = clinic.set_up_clinic(clinic_name="Aussie Physio", country="Australia")
    assert (saved.clinic_name, saved.currency, saved.tax_rate) == ("Aussie Physio", "AUD", 10)


def test_settings_change_the_tax_later(clinic: Clinic):
    clinic.set_up_clinic(clinic_name="Kiwi Physio", country="New Zealand")
    clinic.update_settings(tax_rate="12.5", prices_include_tax=False)
    profile = clinic.clinic_profile()
    assert (profile.tax_name, profile.tax_rate, profile.prices_include_tax) == (
        "GST",
        Decimal("12.5"),
        False,
    )
    before = snapshot(clinic)
    with pytest.raises(BillingError) as refused:
        clinic.update_settings(tax_name="", clinic_name="Renamed")
    assert refused.value.code == Refusal.MISSING and refused.value.field == "tax_name"
    assert snapshot(clinic) == before
    clinic.update_settings(tax_name="", tax_rate="0")
    assert clinic.clinic_profile().tax_name == ""


def test_only_those_who_change_settings_may_set_up_the_clinic(team):
    with pytest.raises(PermissionDenied):
        team["receptionist"].set_up_clinic(clinic_name="Mine", country="Australia")
    assert team["administrator"].set_up_clinic(clinic_name="Ours", country="Ireland").currency == (
        "EUR"
    )
