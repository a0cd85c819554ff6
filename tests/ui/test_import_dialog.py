"""File > Import…: a file imported with progress, a refused one's problems in a table, Cancel that
saves nothing, the template, and the main window's lists re-read afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from desktop_app.core.interchange import importing
from desktop_app.core.interchange.importing import template
from desktop_app.ui.dialogs import import_dialog
from desktop_app.ui.dialogs.import_dialog import ImportDialog
from desktop_app.ui.main_window import MainWindow
from tests.helpers import snapshot


def patients_file(tmp_path: Path, count: int, name: str = "patients.csv") -> Path:
    path = tmp_path / name
    rows = "".join(f"X{i},First{i},Last{i}\n" for i in range(count))
    path.write_text("external_id,first_name,last_name\n" + rows, encoding="utf-8")
    return path


@pytest.fixture
def dialog(qtbot, clinic) -> ImportDialog:
    made = ImportDialog(clinic)
    qtbot.addWidget(made)
    made.show()
    return made


def run_import(qtbot, dialog: ImportDialog, kind: str, path: Path) -> None:
    dialog.set_kind(kind)
    dialog.path_edit.setText(str(path))
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)


def test_a_file_is_imported_with_progress(qtbot, dialog, clinic, tmp_path):
    values: list[int] = []
    dialog.progress_bar.valueChanged.connect(values.append)
    with qtbot.waitSignal(dialog.imported) as imported:
        run_import(qtbot, dialog, "patients", patients_file(tmp_path, 2500))
    assert imported.args[0].created == {"patients": 2500}
    assert dialog.status_label.text() == "Imported 2,500 patients from patients.csv."
    assert dialog.progress_bar.value() == dialog.progress_bar.maximum()
    assert len(values) >= 4 and max(values) > 2500  # it moved through checking and saving
    assert clinic.summary().patients == 2500
    assert dialog.problems_view.isHidden() and dialog.import_button.isEnabled()
    # The same file again: recognised, nothing changed, no "imported" signal.
    with qtbot.assertNotEmitted(dialog.imported):
        run_import(qtbot, dialog, "patients", patients_file(tmp_path, 2500))
    assert "was already imported on" in dialog.status_label.text()


def test_a_refused_file_shows_its_problems(qtbot, dialog, clinic, tmp_path):
    before = snapshot(clinic)
    bad = tmp_path / "bad.csv"
    bad.write_text("external_id,first_name,last_name\nP1,Ada\nP2,,Hopper\n", encoding="utf-8")
    with qtbot.assertNotEmitted(dialog.imported):
        run_import(qtbot, dialog, "patients", bad)
    view = dialog.problems_view
    assert view.isVisible() and view.rowCount() == 2
    cells = [[view.item(r, c).text() for c in range(2)] for r in range(view.rowCount())]
    assert cells == [["2", "last_name"], ["3", "first_name"]]
    assert "cut short" in view.item(0, 2).text()
    assert "bad.csv was not imported: 2 problems found" in dialog.status_label.text()
    assert [(p.row, p.column) for p in dialog.problems] == [(2, "last_name"), (3, "first_name")]
    assert snapshot(clinic) == before
    # A file that is not a CSV of UTF-8 text: one problem for the whole file.
    latin = tmp_path / "latin.csv"
    latin.write_bytes("external_id,first_name,last_name\nP1,José,Núñez\n".encode("cp1252"))
    run_import(qtbot, dialog, "patients", latin)
    assert view.rowCount() == 1 and view.item(0, 0).text() == ""
    assert "CSV UTF-8" in view.item(0, 2).text()


def test_cancel_really_cancels(qtbot, dialog, clinic, tmp_path, monkeypatch):
    writing, resume = threading.Event(), threading.Event()
    real = importing.import_file

    def import_pausing_once_saving(clinic, kind, path, *, progress, cancel, mapping):
        def report(done: int, total: int) -> None:
            progress(done, total)
            if done > total // 2 and not writing.is_set():  # rows are being written
                writing.set()
                resume.wait(10)

        return real(clinic, kind, path, progress=report, cancel=cancel, mapping=mapping)

    monkeypatch.setattr(import_dialog, "import_file", import_pausing_once_saving)
    before = snapshot(clinic)
    dialog.set_kind("patients")
    dialog.path_edit.setText(str(patients_file(tmp_path, 3000)))
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
        assert dialog.is_running and not dialog.import_button.isEnabled()
        qtbot.waitUntil(writing.is_set)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        resume.set()
    assert "cancelled; nothing was saved" in dialog.status_label.text()
    assert snapshot(clinic) == before
    assert dialog.outcome is None and not dialog.is_running


def test_closing_during_an_import_cancels_it(qtbot, clinic, tmp_path):
    dialog = ImportDialog(clinic)
    dialog.show()
    dialog.set_kind("patients")
    dialog.path_edit.setText(str(patients_file(tmp_path, 20_000)))
    dialog.start_import()
    dialog.reject()  # waits for the import to stop
    assert clinic.summary().patients in (0, 20_000)  # all or nothing, never a part
    dialog.deleteLater()


def test_browse_and_save_a_template(qtbot, dialog, tmp_path, monkeypatch):
    chosen = tmp_path / "from-old-system.csv"
    monkeypatch.setattr(dialog, "choose_file", lambda: chosen)
    qtbot.mouseClick(dialog.browse_button, Qt.MouseButton.LeftButton)
    assert dialog.path == chosen and dialog.import_button.isEnabled()
    dialog.set_kind("payments")
    assert dialog.columns_label.text() == (
        "payment_ref, patient_external_id, payment_date, amount, method (optional: invoice_number)"
    )
    target = tmp_path / "payments-template.csv"
    monkeypatch.setattr(dialog, "choose_template_path", lambda kind: target)
    qtbot.mouseClick(dialog.template_button, Qt.MouseButton.LeftButton)
    assert target.read_bytes() == Path(str(template("payments"))).read_bytes()


def test_the_main_window_imports_and_lists_the_patients(qtbot, clinic, tmp_path, with_modal):
    window = MainWindow(clinic)
    qtbot.addWidget(window)
    window.show()
    assert window.import_action.isEnabled()
    assert window.patient_model.rowCount() == 0

    def import_then_close(dialog) -> None:
        assert isinstance(dialog, ImportDialog)
        run_import(qtbot, dialog, "patients", Path(str(template("patients"))))
        dialog.reject()

    with_modal(import_then_close)
    window.import_action.trigger()
    assert window.patient_model.rowCount() == 3
    assert window.patient_id is not None  # the first patient is shown


SAMPLE = Path(__file__).parents[2] / "docs" / "samples" / "previous-system-patients.csv"


def test_another_systems_columns_are_mapped_saved_and_offered_next_time(
    qtbot, dialog, clinic, tmp_path
):
    dialog.set_kind("patients")
    dialog.path_edit.setText(str(SAMPLE))
    # Matched by name and by the names other systems use; the rest ignored until chosen.
    assert dialog.mapping["Patient ID"] == "external_id"
    assert dialog.mapping["Last Name"] == "last_name"
    assert dialog.mapping["Unapplied Account Credit"] == "opening_credit"
    assert dialog.mapping["Alert Notes"] == "ignore"
    assert dialog.ignored_label.text() == (
        "Ignored columns: Alert Notes, Pension/Concession, Referral Source"
    )
    dialog.set_field("Alert Notes", "notes")
    dialog.set_field("Pension/Concession", "concession")
    assert dialog.ignored_label.text() == "Ignored columns: Referral Source"
    dialog.ask_mapping_name = lambda: "Previous system"
    assert dialog.save_mapping() == "Previous system"
    assert clinic.import_mappings("patients") == {
        "Previous system": {"Alert Notes": "notes", "Pension/Concession": "concession"}
    }
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert dialog.status_label.text() == (
        "Imported 14 patients (7 opening balances) from previous-system-patients.csv. "
        "Ignored columns: Referral Source."
    )
    (pid,) = clinic.patient_ids("O'Brien")
    assert clinic.patient(pid).concession == "Pensioner"
    assert clinic.verify() == []

    # Next time, a window offers the saved mapping for a file with those columns.
    again = ImportDialog(clinic)
    qtbot.addWidget(again)
    again.set_kind("patients")
    again.path_edit.setText(str(SAMPLE))
    assert again.mapping_combo.currentText() == "Previous system"
    assert again.mapping["Alert Notes"] == "notes"
    again.mapping_combo.setCurrentIndex(0)  # matched by name alone
    assert again.mapping["Alert Notes"] == "ignore"


def test_two_columns_for_one_field_are_refused_in_the_window(qtbot, dialog, clinic, tmp_path):
    dialog.set_kind("patients")
    dialog.path_edit.setText(str(SAMPLE))
    dialog.set_field("Referral Source", "notes")
    dialog.set_field("Alert Notes", "notes")
    before = snapshot(clinic)
    with qtbot.waitSignal(dialog.import_finished, timeout=30_000):
        qtbot.mouseClick(dialog.import_button, Qt.MouseButton.LeftButton)
    assert "sends both" in dialog.status_label.text() and "to notes" in dialog.status_label.text()
    assert snapshot(clinic) == before


def test_a_misspelt_invoice_column_is_refused_in_the_window_as_on_the_command_line(
    qtbot, dialog, clinic, tmp_path
):
    clinic.add_patient("Ada", "Lovelace")
    patients = tmp_path / "patients.csv"
    patients.write_text("external_id,first_name,last_name\nP1,Ada,Lovelace\n", encoding="utf-8")
    run_import(qtbot, dialog, "patients", patients)
    invoices = tmp_path / "invoices.csv"
    invoices.write_text(
        "invoice_number,patient_external_id,issue_date,due_date,description,unit_price,"
        "quantity,tax_rat\n501,P1,2026-10-01,,Consult,100.00,1,10\n",
        encoding="utf-8",
    )
    before = snapshot(clinic)
    with qtbot.assertNotEmitted(dialog.imported):
        run_import(qtbot, dialog, "invoices", invoices)
    assert "tax_rat" in dialog.status_label.text() + " ".join(
        dialog.problems_view.item(r, 2).text() for r in range(dialog.problems_view.rowCount())
    )
    assert snapshot(clinic) == before
    dialog.set_field("tax_rat", None)  # chosen by hand: ignored, as the person asked
    with qtbot.waitSignal(dialog.imported):
        run_import(qtbot, dialog, "invoices", invoices)
