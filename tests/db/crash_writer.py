"""A front desk that never stops saving: the child process the crash test kills with SIGKILL.

Run as ``python -m tests.db.crash_writer URL SEED``. It records a steady mix of money movements
(prepayments, invoices paid from credit and cash, overpayments, refunds) until it is killed.
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
                elif choice < 0.6:
                    iid = clinic.create_invoice(pid, [("Consult", str(rng.randint(20, 90)), 1)])
                    preview = clinic.preview_payment(
                        pid, sources={"EFTPOS": str(rng.randint(0, 60))}, source_invoice=iid
                    )
                    if not preview.is_empty:
                        clinic.record_payment(preview, f"pay-{step}")
                elif choice < 0.8:
                    credit = clinic.credit(pid)
                    if credit > 0:
                        clinic.refund_credit(
                            pid,
                            credit / 2 if credit >= 2 else credit,
                            method="Cash",
                            request_id=f"refund-{step}",
                        )
                elif choice < 0.9:
                    patients.append(clinic.add_patient("Crash", f"Test {seed}-{n}"))
                else:
                    paid = clinic.payments(pid)
                    if paid and not paid[-1].reversed:
                        clinic.reverse_payment(paid[-1].id)
            except BillingError:
                pass  # a refusal saves nothing, by design; carry on


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
