"""A front desk that never stops saving: the child process the crash test kills with SIGKILL.

Run as ``python -m tests.db.crash_writer URL SEED``. It records a steady mix of money movements
(prepayments, invoices paid from credit and cash, overpayments, refunds, reversals, credit notes,
removed applications, transfers) until it is killed, printing ``saved <request id>`` after each
payment or refund has committed, so the test can check no acknowledged save is ever lost.
"""

from __future__ import annotations

import random
import sys

from desktop_app.core import BillingError, Clinic


def main(url: str, seed: int) -> None:
    rng = random.Random(seed)
    with Clinic.open(url) as clinic:
        patients = clinic.patient_ids() or [clinic.add_patient("Crash", f"Test {seed}")]
        print("ready", flush=True)
        for n in range(1_000_000):
            pid = rng.choice(patients)
            step = f"{seed}-{n}"
            choice = rng.random()
            try:
                if choice < 0.25:
                    clinic.record_payment(
                        clinic.preview_payment(pid, sources={"Cash": str(rng.randint(5, 80))}),
                        f"prepay-{step}",
                    )
                    print(f"saved prepay-{step}", flush=True)
                elif choice < 0.55:
                    iid = clinic.create_invoice(pid, [("Consult", str(rng.randint(20, 90)), 1)])
                    preview = clinic.preview_payment(
                        pid, sources={"EFTPOS": str(rng.randint(0, 60))}, source_invoice=iid
                    )
                    if not preview.is_empty:
                        clinic.record_payment(preview, f"pay-{step}")
                        print(f"saved pay-{step}", flush=True)
                elif choice < 0.7:
                    credit = clinic.credit(pid)
                    if credit > 0:
                        clinic.refund_credit(
                            pid,
                            credit / 2 if credit >= 2 else credit,
                            method="Cash",
                            request_id=f"refund-{step}",
                        )
                        print(f"saved refund-{step}", flush=True)
                elif choice < 0.75:
                    patients.append(clinic.add_patient("Crash", f"Test {seed}-{n}"))
                elif choice < 0.8:
                    paid = clinic.payments(pid)
                    if paid and not paid[-1].reversed:
                        clinic.reverse_payment(paid[-1].id)
                elif choice < 0.87:
                    invoices = clinic.invoices(pid)
                    if invoices:
                        clinic.credit_note(
                            rng.choice(invoices).id,
                            str(rng.randint(1, 20)),
                            reason="crash test",
                            request_id=f"note-{step}",
                        )
                elif choice < 0.93:
                    live = [
                        app
                        for payment in clinic.payments(pid)
                        for app in payment.applications
                        if not app.removed
                    ]
                    if live:
                        clinic.remove_application(rng.choice(live).id, "crash test")
                else:
                    other = rng.choice(patients)
                    credit = clinic.credit(pid)
                    if other != pid and credit > 0:
                        clinic.transfer_credit(
                            pid, other, credit, reason="crash test", request_id=f"move-{step}"
                        )
            except BillingError:
                pass  # a refusal saves nothing, by design; carry on


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
