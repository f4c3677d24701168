"""Records to JSON and back, for records parked while they wait for a reference and for
records quarantined by a rule (retried after the rule is fixed)."""

from __future__ import annotations

import dataclasses
import json
import typing
from datetime import date, datetime

from prm.ingest import records as records_module
from prm.ingest.records import ClinicRef, SourceKey

_RECORD_TYPES = {cls.__name__: cls for cls in (*records_module.RECORD_ORDER,)}


def encode(record) -> str:
    return json.dumps({"record_type": type(record).__name__, **_plain(record)},
                      ensure_ascii=False, default=_json_default)


def decode(text: str):
    data = json.loads(text)
    cls = _RECORD_TYPES[data.pop("record_type")]
    return _build(cls, data)


def is_encoded_record(text: str) -> bool:
    return text.lstrip().startswith('{"record_type"')


def _plain(record) -> dict:
    return {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}


def _json_default(value):
    if isinstance(value, SourceKey | ClinicRef):
        return _plain(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__}")


def _build(cls, data: dict):
    hints = typing.get_type_hints(cls, vars(records_module))
    values = {name: _convert(hints[name], value) for name, value in data.items()}
    return cls(**values)


def _convert(hint, value):
    if value is None:
        return None
    options = typing.get_args(hint) or (hint,)
    if SourceKey in options:
        return _build(SourceKey, value)
    if ClinicRef in options:
        return _build(ClinicRef, value)
    if datetime in options:
        return datetime.fromisoformat(value)
    if date in options:
        return date.fromisoformat(value)
    if isinstance(value, list):
        return tuple(value)
    return value
