"""Are AWS credentials configured here? Asked through botocore's own resolver, without the network.

Providers that would call out (instance metadata, container endpoint, SSO, STS role assumption,
external processes) are not run; their configuration alone counts as "configured": whether
those credentials work is known only at the first real call, which maps failures to
AuthenticationError.
"""

from __future__ import annotations

import os

import botocore.session
from botocore.exceptions import BotoCoreError

from qhil.execution.provider import Availability

OFFLINE_PROVIDERS = ("env", "shared-credentials-file", "config-file", "ec2-credentials-file",
                     "boto-config")
DEFERRED_PROFILE_KEYS = ("role_arn", "sso_session", "sso_start_url", "credential_process",
                         "web_identity_token_file", "login_session")
DEFERRED_ENV = ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE")
NO_CREDENTIALS = ("no AWS credentials: configure a profile (aws configure) or set "
                  "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def aws_availability() -> Availability:
    """Usable if botocore finds credentials offline or a profile that defers to another source."""
    try:
        session = botocore.session.Session()
        if _offline_credentials(session) or _deferred_source(session):
            return Availability(usable=True)
    except BotoCoreError as exc:  # e.g. AWS_PROFILE names a profile that does not exist
        return Availability(usable=False, reason=f"AWS configuration: {exc}")
    return Availability(usable=False, reason=NO_CREDENTIALS)


def _offline_credentials(session: botocore.session.Session) -> bool:
    resolver = session.get_component("credential_provider")
    for provider in list(resolver.providers):
        if provider.METHOD not in OFFLINE_PROVIDERS:
            resolver.remove(provider.METHOD)
    return resolver.load_credentials() is not None


def _deferred_source(session: botocore.session.Session) -> bool:
    if any(os.environ.get(name) for name in DEFERRED_ENV):
        return True
    profile = session.get_scoped_config()
    return any(key in profile for key in DEFERRED_PROFILE_KEYS)
