"""Twilio: the only module that imports the ``twilio`` library (the ``twilio`` import
contract). It checks the signature of Twilio's webhooks here; the sender (the real
``twilio`` REST client behind ``prm.messaging.providers.SmsSender``) lives here too.
"""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def signature_valid(*, auth_token: str, url: str, params: Mapping[str, str],
                    signature: str) -> bool:
    """Whether ``signature`` (the X-Twilio-Signature header) is Twilio's for a POST of
    ``params`` to ``url``, the full public URL Twilio called (PRM_PUBLIC_BASE_URL +
    path + query: behind a proxy the request's own URL is not what Twilio signed)."""
    if not auth_token or not signature:
        return False
    return RequestValidator(auth_token).validate(url, dict(params), signature)
