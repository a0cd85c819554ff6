"""Where a window envelope's window falls on the page, for the two papers documents print on.

* **A4 in a DL window envelope** (DIN 5008, form B): the address field is 85 x 45 mm, 20 mm from
  the page's left edge and 45 mm from its top; its upper 17.7 mm are for postal endorsements, and
  the recipient's lines go in the 27.3 mm below (six lines, from 62.7 mm), their text starting
  25 mm from the left edge. A DL window envelope (DIN 680: window 90 x 45 mm, 20 mm from the left
  and 15 mm from the bottom) shows that field of an A4 page folded at 105 mm and 210 mm.
* **US Letter in a #10 window envelope**: the usual #10 window is 4 1/2 x 1 1/8 in, 7/8 in from
  the left and 1/2 in from the bottom of the 4 1/8 x 9 1/2 in envelope. A Letter page folded in
  thirds (3 2/3 in panels) resting in it shows the page from about 2 in to 3 1/8 in from its top
  behind that window. USPS Publication 25 ("Designing Letter and Reply Mail") asks for at least
  1/8 in between the address and every edge of the window, so the lines start 1/8 in inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

MM_PER_INCH = 25.4


@dataclass(frozen=True, slots=True)
class EnvelopeWindow:
    """The part of the page an envelope's window shows, and where the address's text starts
    (millimetres from the page's top-left corner). Nothing but the address goes in the window;
    what follows the address block starts below it."""

    name: str
    left: float
    top: float
    width: float
    height: float
    text_left: float
    text_top: float

    @property
    def right(self) -> float:
        """The window's right edge."""
        return self.left + self.width

    @property
    def bottom(self) -> float:
        """The window's bottom edge."""
        return self.top + self.height


#: A4 in a DL window envelope: DIN 680's 90 x 45 mm window over DIN 5008 form B's address field
#: (the recipient's lines from 62.7 mm, 25 mm from the left edge).
DL_ON_A4 = EnvelopeWindow("DL", 20.0, 45.0, 90.0, 45.0, 25.0, 62.7)

_IN = MM_PER_INCH
#: US Letter in a #10 window envelope: the window from 2 in down, the text 1/8 in inside it.
NO10_ON_LETTER = EnvelopeWindow(
    "#10", 0.875 * _IN, 2.0 * _IN, 4.5 * _IN, 1.125 * _IN, 1.0 * _IN, 2.125 * _IN
)
