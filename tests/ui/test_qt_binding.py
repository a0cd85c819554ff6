"""The Qt binding must not leak or over-release references on the hot paths the windows use.

PySide6 6.12.0 returned ``True`` from ``Signal.emit()`` without a reference, so each emit dropped
one; after a few thousand keystrokes in the payment dialog the interpreter aborted. This test fails
on any binding with that defect (the project pins below it).
"""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    changed = Signal()


def test_signal_emit_keeps_reference_counts(qapp):
    emitter = _Emitter()
    emitter.changed.connect(lambda: None)
    for _ in range(10):  # warm up caches
        emitter.changed.emit()
    before = sys.getrefcount(True), sys.getrefcount(False)
    for _ in range(500):
        emitter.changed.emit()
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert after[0] - before[0] >= 0 and after[1] - before[1] >= 0
