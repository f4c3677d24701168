"""Domain errors. Services raise these; one handler renders them (never HTTPException)."""

from __future__ import annotations


class PrmError(Exception):
    status = 400

    def __init__(self, message: str, *, field_errors: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.field_errors = field_errors or {}


class LoginRequired(PrmError):
    """Nobody is logged in (or the session ended): rendered as a redirect to /login."""

    status = 401


class PasswordChangeRequired(PrmError):
    """The user logged in with a password an administrator set: rendered as a redirect
    to /password, the one page they may use until they choose their own."""

    status = 403


class NotFound(PrmError):
    status = 404


class Conflict(PrmError):
    status = 409


class Forbidden(PrmError):
    status = 403


class ValidationFailed(PrmError):
    """A form or record failed validation; ``field_errors`` maps field name → message."""

    status = 422
