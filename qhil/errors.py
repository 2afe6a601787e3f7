"""One rooted exception tree for everything qhil raises on purpose.

    QhilError                      root; `exit_code` is what the CLI exits with
    ├── UserError                  bad input or configuration (exit 2): nothing was spent
    │   ├── ConfigError            a malformed config file or provider profile
    │   ├── RequestValidationError a SamplingRequest that does not fit the device
    │   ├── UnknownProviderError   no profile of that name
    │   ├── ProviderUnavailableError  SDK not installed, no credentials
    │   ├── BudgetExceededError    a request that would exceed the shot/dollar/job budget
    │   ├── ResourceError          more memory or processes than this machine holds
    │   ├── UntrustedFileError     a file that only running the code inside it could read
    │   └── RunFolderBusyError     another live process owns the run folder (its pid named)
    ├── ProviderError              the provider or its service failed (exit 1)
    │   ├── TransientProviderError retryable: throttling, 5xx, connection loss, device offline
    │   │   └── SubmissionTimeoutError  the service did not answer in time (job may exist)
    │   └── PermanentProviderError not retryable: authentication, limits, a failed job
    │       ├── AuthenticationError
    │       ├── JobFailedError     the job ended FAILED; carries the vendor's message
    │       └── JobCancelledError
    ├── JobTimeoutError            `Job.result(timeout_s)` ran out; the job goes on (exit 1)
    └── RunInterruptedError        a run stopped cleanly (budget hit, agent died); resumable (exit 3)

Raise with `from exc` so the vendor's exception stays attached for `--debug`.
"""

from __future__ import annotations


class QhilError(Exception):
    """Root of every error qhil raises on purpose."""

    exit_code = 1


class UserError(QhilError):
    """Bad input or configuration; raised before anything is spent."""

    exit_code = 2


class ConfigError(UserError):
    """A malformed configuration file or provider profile."""


class RequestValidationError(UserError):
    """A sampling request that is malformed or does not fit the device."""


class UnknownProviderError(UserError):
    """No provider profile of that name."""


class ProviderUnavailableError(UserError):
    """The provider cannot be used here: its SDK is missing or credentials are absent."""


class BudgetExceededError(UserError):
    """The request would exceed the shot, dollar or job budget."""


class ResourceError(UserError):
    """The machine cannot hold what was asked for (memory, processes); nothing was started."""


class UntrustedFileError(UserError):
    """A checkpoint that holds pickled Python objects: reading it would run them, so it is refused
    (`qhil convert-checkpoints DIR --trust` rewrites a folder one trusts as tensors and data)."""


class RunFolderBusyError(UserError):
    """Another live process holds the run folder's lock; nothing was written or sent."""


class ProviderError(QhilError):
    """The provider or its service failed."""

    def __init__(self, message: str, *, job_id: str | None = None, billed: bool = False):
        super().__init__(message)
        self.job_id = job_id
        self.billed = billed


class TransientProviderError(ProviderError):
    """A failure worth retrying: throttling, 5xx, connection loss, device offline."""


class SubmissionTimeoutError(TransientProviderError):
    """The service did not answer a submission in time; the job may exist anyway."""


class PermanentProviderError(ProviderError):
    """A failure a retry cannot mend."""


class AuthenticationError(PermanentProviderError):
    """Credentials are missing, wrong or expired."""


class JobFailedError(PermanentProviderError):
    """The job finished in a failed state."""


class JobCancelledError(PermanentProviderError):
    """The job was cancelled."""


class JobTimeoutError(QhilError):
    """Waiting for a result ran out of time; the job itself goes on."""


class RunInterruptedError(QhilError):
    """A run stopped cleanly and can be resumed (budget reached, an agent died)."""

    exit_code = 3
