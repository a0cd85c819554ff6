"""The managers of a clinic: one per area, each holding the clinic's store (Anki's model).

``clinic.patients``, ``clinic.invoices``, ``clinic.payments``, ``clinic.corrections``,
``clinic.settings``, ``clinic.reports``, ``clinic.audit``, ``clinic.staff`` and
``clinic.interchange`` are instances of the classes here; ``Clinic``'s flat methods
(``clinic.record_payment(...)``) delegate to them. A manager checks who may call it
(:mod:`desktop_app.core.ledger.guard`), cleans its inputs, and reads or writes through its
store (:mod:`desktop_app.core.ledger.store`); the rules themselves live in the areas' modules.
"""
