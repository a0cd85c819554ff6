"""ISO 4217 currencies and their minor units (standard library only).

The table lists the active ISO 4217 codes. Most have two decimals; the exceptions are spelled out.
"""

from __future__ import annotations

_ZERO_DECIMALS = frozenset(
    """
        BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF
    """.split()
)
_THREE_DECIMALS = frozenset(["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"])
_FOUR_DECIMALS = frozenset(["CLF", "UYW"])
_TWO_DECIMALS = frozenset(
    """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP
        BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD
        FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD
        KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
        NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP
        SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED
        VES WST XCD XCG YER ZAR ZMW ZWG
    """.split()
)

#: Minor-unit exponent for every supported currency code.
MINOR_UNITS: dict[str, int] = {
    **{code: 0 for code in _ZERO_DECIMALS},
    **{code: 2 for code in _TWO_DECIMALS},
    **{code: 3 for code in _THREE_DECIMALS},
    **{code: 4 for code in _FOUR_DECIMALS},
}

#: Symbols a person may type in front of an amount, by currency code (besides the code itself).
#: The first is the one messages show.
SYMBOLS: dict[str, tuple[str, ...]] = {
    "AUD": ("$", "A$"),
    "NZD": ("$", "NZ$"),
    "USD": ("$", "US$"),
    "CAD": ("$", "CA$"),
    "SGD": ("$", "S$"),
    "HKD": ("$", "HK$"),
    "GBP": ("£",),
    "EUR": ("€",),
    "JPY": ("¥", "￥"),
    "INR": ("₹",),
    "ZAR": ("R",),
    "CHF": ("Fr.",),
}


def normalize_currency(code: str) -> str:
    """Return the upper-case ISO 4217 code, or raise ``ValueError`` for an unknown one.

    Args:
        code: a currency code such as ``"aud"`` or ``"JPY"``.
    """
    if not isinstance(code, str):
        raise ValueError("A currency must be an ISO 4217 code such as AUD.")
    upper = code.strip().upper()
    if upper not in MINOR_UNITS:
        raise ValueError(f"{code!r} is not an ISO 4217 currency code (for example AUD, NZD, GBP).")
    return upper
