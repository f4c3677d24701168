"""How many SMS an SMS body is: its encoding and its segments.

A body that fits the GSM 03.38 alphabet goes as GSM-7: 160 characters in one SMS, 153
per part when split (characters of the extension table, such as € { } [ ], count twice).
Anything else, and any Thai, goes as UCS-2: 70 UTF-16 units in one SMS, 67 per part.
Providers bill per segment, so this is also what a message costs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)

GSM7 = "GSM-7"
UCS2 = "UCS-2"
SINGLE = {GSM7: 160, UCS2: 70}
PART = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SmsSize:
    encoding: str
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    segments: int


def sms_size(body: str) -> SmsSize:
    try:
        encoding, units = GSM7, len(body.encode("gsm03.38"))
    except UnicodeEncodeError:
        encoding, units = UCS2, len(body.encode("utf-16-le")) // 2
    if units <= SINGLE[encoding]:
        return SmsSize(encoding, units, 1 if units else 0)
    return SmsSize(encoding, units, math.ceil(units / PART[encoding]))
