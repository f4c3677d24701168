"""Messaging's routes, one module per audience: the Twilio webhooks (``webhooks``), the
patient's one-tap pages (``public``), staff pages (``staff``) and the admin page of
rules and templates (``admin``). ``router`` is all of them."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
