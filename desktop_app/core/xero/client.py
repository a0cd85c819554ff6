"""Xero's Accounting API over HTTPS, for one organisation and one access token.

:class:`XeroClient` sends JSON requests and reads JSON answers, within Xero's limits:

* one call at a time (Xero allows 5 at once per organisation; the sync needs no more);
* at most 60 calls in any minute and 5,000 a day (:class:`CallLimiter`), also slowing down
  when Xero's own ``X-MinLimit-Remaining`` header says the minute is spent;
* an HTTP 429 waits the ``Retry-After`` seconds Xero gives, then asks again;
* a 5xx answer or a dropped connection is retried a few times, waiting longer each time. Every
  write carries an ``Idempotency-Key``, so a retried write that Xero had in fact done is not
  done twice.

A 401 (the access token expired or revoked) raises :class:`XeroAuthError`; a 400 raises
:class:`XeroRefusedError` with Xero's own message. Nothing here knows the ledger: the sync does.
The standard library's HTTP client is enough (TLS with the system's certificates, timeouts),
so the app needs no HTTP package of its own. Amounts travel as JSON numbers written from
:class:`~decimal.Decimal` and read back as Decimal, never as floats.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

#: Xero's Accounting API.
DEFAULT_BASE = "https://api.xero.com/api.xro/2.0"
#: Xero's limits per organisation (its API documentation, "Rate limits").
MINUTE_LIMIT = 60
DAY_LIMIT = 5000
#: The most records Xero takes in one create call.
BATCH = 50
#: Attempts at one call that failed for Xero's or the network's sake (429 excluded).
ATTEMPTS = 4
#: Seconds to wait after a 429 that gives no Retry-After.
DEFAULT_RETRY_AFTER = 60
#: The most 429s in a row before the sync stops and says so.
MAX_THROTTLED = 5


class XeroError(Exception):
    """A call to Xero that did not succeed; ``status`` is the HTTP status (0: no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class XeroAuthError(XeroError):
    """Xero refused the access token (401 or 403): connect again from Tools > Xero."""


class XeroRefusedError(XeroError):
    """Xero answered 400: the request was understood and refused; the message is Xero's."""


class XeroUnavailableError(XeroError):
    """Xero could not be reached or kept failing (5xx, timeouts, the daily limit)."""


@dataclass
class CallLimiter:
    """Xero's per-minute and per-day call limits, kept on our side so no call is refused for
    them: :meth:`wait` before each call sleeps until the minute has room."""

    per_minute: int = MINUTE_LIMIT
    per_day: int = DAY_LIMIT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _recent: deque[float] = field(default_factory=deque)
    _day_start: float | None = None
    _today: int = 0

    def wait(self) -> None:
        """Block until one more call fits in the last minute and the day; raises
        :class:`XeroUnavailableError` when the day's calls are spent."""
        now = self.clock()
        if self._day_start is None or now - self._day_start >= 86_400:
            self._day_start, self._today = now, 0
        if self._today >= self.per_day:
            raise XeroUnavailableError(
                f"Xero's limit of {self.per_day:,} calls a day for this organisation is reached; "
                "the sync carries on from here tomorrow."
            )
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if len(self._recent) >= self.per_minute:
            self.sleep(60 - (now - self._recent[0]))
            now = self.clock()
            while self._recent and now - self._recent[0] >= 60:
                self._recent.popleft()
        self._recent.append(now)
        self._today += 1

    def minute_spent(self) -> None:
        """Xero says this minute's calls are spent (another app shares the organisation):
        count the minute as full from now."""
        now = self.clock()
        self._recent.extend([now] * max(self.per_minute - len(self._recent), 0))


@dataclass
class XeroClient:
    """Calls to one Xero organisation with one access token. ``calls`` and ``writes`` count
    the HTTP requests made (retries included), for the sync's report and its benchmark."""

    access_token: str
    tenant_id: str
    base_url: str = DEFAULT_BASE
    limiter: CallLimiter = field(default_factory=CallLimiter)
    sleep: Callable[[float], None] = time.sleep
    timeout: float = 30.0
    calls: int = 0
    writes: int = 0

    def get(self, path: str, params: Mapping[str, str] | None = None) -> dict[str, Any]:
        """``GET`` a resource (``path`` below the API's base, such as ``/Invoices``)."""
        return self._call("GET", path, params, None, None)

    def write(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any],
        *,
        key: str,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """``PUT`` (create) or ``POST`` (create or update) with the ``Idempotency-Key``
        ``key``: the same key for the same write, so a retry is never done twice."""
        if method not in ("PUT", "POST"):
            raise ValueError(f"write takes PUT or POST, not {method!r}")
        return self._call(method, path, params, body, key)

    def delete(self, path: str, *, key: str) -> dict[str, Any]:
        """``DELETE`` (an allocation) with the ``Idempotency-Key`` ``key``."""
        return self._call("DELETE", path, None, None, key)

    def _call(
        self,
        method: str,
        path: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
        key: str | None,
    ) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        headers = {
            "Authorization": f"Bearer {self.access_token}",
            "xero-tenant-id": self.tenant_id,
            "Accept": "application/json",
        }
        data = None
        if body is not None:
            data = dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key[:128]
        failures = throttled = 0
        while True:
            self.limiter.wait()
            self.calls += 1
            if method != "GET":
                self.writes += 1
            status, answer, retry_after = self._send(method, url, data, headers)
            if status == 429:
                throttled += 1
                if throttled > MAX_THROTTLED:
                    raise XeroUnavailableError(
                        f"Xero kept answering 429 (too many calls) to {method} {path}; try the "
                        "sync again later.",
                        429,
                    )
                self.limiter.minute_spent()
                self.sleep(retry_after if retry_after is not None else DEFAULT_RETRY_AFTER)
                continue
            if status == 0 or status >= 500:
                failures += 1
                if failures >= ATTEMPTS:
                    raise XeroUnavailableError(
                        f"Xero did not answer {method} {path} ({_reason(status, answer)}) after "
                        f"{ATTEMPTS} tries; nothing is lost: the next sync carries on from here.",
                        status,
                    )
                self.sleep(2**failures)
                continue
            if status in (401, 403):
                raise XeroAuthError(
                    f"Xero refused the connection ({_reason(status, answer)}); connect to Xero "
                    "again (Tools > Xero > Connect).",
                    status,
                )
            if status >= 400:
                raise XeroRefusedError(_reason(status, answer), status)
            return answer

    def _send(
        self, method: str, url: str, data: bytes | None, headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], float | None]:
        """One HTTP exchange: ``(status, JSON body, Retry-After seconds)``; status 0 when no
        answer came (refused connection, timeout, a dropped line)."""
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status, raw, reply = response.status, response.read(), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, reply = exc.code, exc.read(), exc.headers
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            return 0, {"Message": str(getattr(exc, "reason", exc))}, None
        if reply.get("X-MinLimit-Remaining") == "0":
            self.limiter.minute_spent()
        retry = reply.get("Retry-After")
        try:
            answer = json.loads(raw, parse_float=Decimal) if raw else {}
        except ValueError:
            answer = {"Message": raw.decode("utf-8", "replace")[:200]}
        if not isinstance(answer, dict):
            answer = {"Items": answer}
        return status, answer, int(retry) if retry and retry.isdigit() else None


_NUMBER = re.compile(r'"\\u0000(-?[0-9]+(?:\.[0-9]+)?)"')


def dumps(body: Any) -> str:
    """JSON text of a request; a :class:`~decimal.Decimal` amount is written as the JSON number
    it is (``95.20``), never through a float."""

    def mark(value: Any) -> Any:
        if isinstance(value, Decimal):
            return "\u0000" + format(value, "f")
        if isinstance(value, Mapping):
            return {k: mark(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [mark(v) for v in value]
        return value

    return _NUMBER.sub(r"\1", json.dumps(mark(body)))


def _reason(status: int, answer: Mapping[str, Any]) -> str:
    """Xero's own words for a failed call: its message and each validation error."""
    words = [str(answer.get("Message") or answer.get("Detail") or answer.get("Title") or "")]
    for element in answer.get("Elements") or []:
        for error in element.get("ValidationErrors") or []:
            words.append(str(error.get("Message", "")))
    text = "; ".join(w for w in words if w)
    return f"HTTP {status}: {text}" if text else f"HTTP {status}" if status else "no answer"


def validation_errors(element: Mapping[str, Any]) -> list[str]:
    """The validation errors Xero attached to one record of a batch (``summarizeErrors=false``
    answers 200 and marks each refused record ``HasErrors``)."""
    return [str(e.get("Message", "")) for e in element.get("ValidationErrors") or []]
