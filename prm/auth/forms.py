"""The change-password form (prm.forms)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from prm.forms import Form, Text

# Long enough for any passphrase, short enough that nobody makes the server hash a book.
MAX_PASSWORD_LENGTH = 200


class PasswordForm(Form):
    """A password is taken exactly as typed: spaces count, nothing is stripped."""

    model_config = ConfigDict(str_strip_whitespace=False, extra="ignore")

    current_password: Text = Field("", max_length=MAX_PASSWORD_LENGTH)
    new_password: Text = Field("", max_length=MAX_PASSWORD_LENGTH)
    confirm_password: Text = Field("", max_length=MAX_PASSWORD_LENGTH)
