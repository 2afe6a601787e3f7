"""IBM Quantum / Qiskit exceptions -> qhil.errors, keeping the vendor's message.

    429, IBM code 1202 (throttled), 5xx, connection loss, expired session -> TransientProviderError
    a timeout while submitting (the job may exist)                        -> SubmissionTimeoutError
    401 / 403, IBMNotAuthorizedError                                      -> AuthenticationError
    IBMInputValueError, validation (ValueError), limits, unknown         -> PermanentProviderError
        billed only for RuntimeJobMaxTimeoutError (the job ran for its 3 h limit)
    RuntimeJobFailureError                                                -> JobFailedError
        billed=False when the failure is a system error, True otherwise (user error)

No retries here: qhil.execution's retry policy decides what to do with each class.
"""

from __future__ import annotations

import re

from qhil.errors import (
    AuthenticationError,
    JobFailedError,
    PermanentProviderError,
    ProviderError,
    SubmissionTimeoutError,
    TransientProviderError,
)

SYSTEM_FAILURE = re.compile(r"system error|internal error|\b(9999|1[5-9]\d\d)\b", re.I)
EXPIRED_SESSION = re.compile(r"session.*(expired|closed|not active|timed out)", re.I)
THROTTLED = re.compile(r"\b1202\b|too many requests", re.I)


def status_code(exc: BaseException) -> int | None:
    """The HTTP status carried by the exception or its cause, if any."""
    for e in (exc, exc.__cause__, exc.__context__):
        code = getattr(e, "status_code", None) or getattr(getattr(e, "response", None),
                                                           "status_code", None)
        if isinstance(code, int) and code > 0:
            return code
    return None


def qiskit_error(exc: BaseException, job_id: str | None = None) -> ProviderError:
    """The qhil error for a vendor exception; the vendor's type and message stay in ours."""
    name = type(exc).__name__
    message = f"Qiskit Runtime: {name}: {exc}"
    if name == "RuntimeJobFailureError":
        billed = not SYSTEM_FAILURE.search(str(exc))
        return JobFailedError(message, job_id=job_id, billed=billed)
    cls = _classify(exc, name, status_code(exc))
    return cls(message, job_id=job_id, billed=name == "RuntimeJobMaxTimeoutError")


def _classify(exc: BaseException, name: str, code: int | None) -> type[ProviderError]:
    text = str(exc)
    if code in (401, 403) or name in ("IBMNotAuthorizedError", "IBMAccountError"):
        return AuthenticationError
    if code == 429 or THROTTLED.search(text) or (code is not None and code >= 500):
        return TransientProviderError
    if EXPIRED_SESSION.search(text):
        return TransientProviderError
    if _is_timeout(exc, name):
        return SubmissionTimeoutError
    if _is_connection(exc, name):
        return TransientProviderError
    return PermanentProviderError


def _is_timeout(exc: BaseException, name: str) -> bool:
    return isinstance(exc, TimeoutError) or name in ("Timeout", "ReadTimeout", "ConnectTimeout")


def _is_connection(exc: BaseException, name: str) -> bool:
    return isinstance(exc, ConnectionError) or name in ("ConnectionError", "ChunkedEncodingError")
