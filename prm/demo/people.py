"""Drawing one demo patient: identity, contact preferences, payer coverage, registration.

Everything here is pure: rows are plain dicts (every column, ids included) drawn from the
run's one ``random.Random`` in a fixed order, with dates measured back from a fixed
reference date, so the same seed always draws the same hospital.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from prm.demo import names
from prm.demo.draw import Weighted
from prm.models.patient import Channel, Sex
from prm.models.segment import FOREIGN_UNINSURED, SELF_PAY
from prm.patients.identifiers import national_id_check_digit
from prm.patients.service import search_fields
from prm.segments.derivation import derive_segment

# Data is "as of" this instant; registrations spread over the five years before it.
REFERENCE = datetime(2026, 11, 1, tzinfo=UTC)
REFERENCE_DATE = REFERENCE.date()
HISTORY_DAYS = 5 * 365

UC = "universal_coverage"
SSS = "social_security"
SSR = "social_security_referral"
CSMBS = "civil_servant"
LIFE = "life_insurance"
SEGMENT_CODES = (SSR, SSS, CSMBS, UC, LIFE, FOREIGN_UNINSURED, SELF_PAY)

Row = dict[str, Any]  # one table row, every column

MALE, FEMALE = Sex.male.value, Sex.female.value
FOREIGN_SHARE = 0.06
# Primary scheme of Thai patients (shares of all patients; foreigners make up the rest).
THAI_MIX = Weighted([(UC, 46), (SSS, 21.2), (SSR, 4), (CSMBS, 9), (LIFE, 4.8), (SELF_PAY, 9)])
# Who also holds a private policy on top of their public scheme.
EXTRA_POLICY: dict[str, float] = {SSS: 0.12, CSMBS: 0.15, UC: 0.03, SSR: 0.05}
PUBLIC_PAYERS = {UC: names.NHSO, SSS: names.SSO, SSR: names.SSO, CSMBS: names.COMPTROLLER}

NO_PHONE = 0.08
NO_CHANNEL = Channel.none.value
SECOND_PHONE = 0.06
SMS_CONSENT = 0.70

AgeRanges = Weighted[tuple[int, int]]  # (youngest, oldest) at registration
# A hospital's patients: many small children and many over-50s.
GENERAL_AGES: AgeRanges = Weighted([
    ((0, 4), 6), ((5, 14), 9), ((15, 24), 10), ((25, 34), 13), ((35, 44), 14),
    ((45, 54), 15), ((55, 64), 15), ((65, 74), 11), ((75, 84), 6), ((85, 89), 1),
])
# Social security covers employees; migrant workers too.
WORKING_AGES: AgeRanges = Weighted([((18, 34), 55), ((35, 59), 45)])
# Expatriates and visitors.
ADULT_AGES: AgeRanges = Weighted([((20, 39), 35), ((40, 59), 35), ((60, 79), 30)])

COUNTRIES = Weighted((c, c.weight) for c in names.COUNTRIES)
PROVINCES = Weighted(names.PROVINCE_CODES)
# Thai mobile ranges: 08x and 09x, and 061–066.
MOBILE_LEAD = Weighted([("8", 45), ("9", 40), ("6", 15)])
# Older patients more often want a call than a text.
CHANNEL_YOUNGER = Weighted([(Channel.sms.value, 80), (Channel.phone.value, 12),
                             (Channel.line.value, 8)])
CHANNEL_ELDERLY = Weighted([(Channel.sms.value, 55), (Channel.phone.value, 40),
                             (Channel.line.value, 5)])
GIVEN_BY_ERA = {
    MALE: (names.MALE_OLD, names.MALE_MID, names.MALE_NEW),
    FEMALE: (names.FEMALE_OLD, names.FEMALE_MID, names.FEMALE_NEW),
}


@dataclass
class DemoRun:
    """What one generation carries from patient to patient."""

    rng: random.Random
    ranks: dict[str, int]  # segment code → rank, as derive_segment wants them
    last_id: dict[str, int]  # table name → last id used
    last_hn: dict[str, int]  # Buddhist-era year prefix → last number issued
    # Identifiers already issued, in the database or earlier in this run.
    national_ids: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)
    passports: set[str] = field(default_factory=set)

    def next_id(self, table: str) -> int:
        self.last_id[table] += 1
        return self.last_id[table]


def registration_times(rng: random.Random, count: int) -> list[datetime]:
    """Sorted, so HNs (issued in registration order) increase with the date."""
    offsets = []
    for _ in range(count):
        day = rng.randrange(HISTORY_DAYS)
        # Registration is open 07:00–20:00 Bangkok time (UTC+7), busiest mid-morning.
        local = int(rng.triangular(7 * 3600, 20 * 3600, 9 * 3600))
        offsets.append(day * 86400 + local - 7 * 3600)
    offsets.sort()
    start = REFERENCE - timedelta(days=HISTORY_DAYS)
    return [start + timedelta(seconds=s) for s in offsets]


def hn_prefix(moment: datetime) -> str:
    # As prm.patients.service.next_hn: two-digit Buddhist-era year of the UTC date.
    return f"{(moment.year + 543) % 100:02d}"


def draw_patient(run: DemoRun, created: datetime) -> tuple[Row, list[Row], Row]:
    """One patient row, their coverage rows and their "registered" timeline entry."""
    if run.rng.random() < FOREIGN_SHARE:
        row, plan = _foreign_person(run, created)
    else:
        row, plan = _thai_person(run, created)
    age = _age(row["birth_date"])
    row.update(id=run.next_id("patient"), hn=_next_hn(run, created),
               created_at=created, updated_at=created)
    row.update(search_fields(row))
    row.update(_titles(run.rng, row["sex"], age))
    row.update(_contact(run, age, created))
    row.update(_vital_status(run.rng, age, created))
    coverages = [_coverage(run, row, code, created) for code in plan]
    row["segment_code"] = _segment_of(row["nationality"], coverages, run.ranks)
    return row, coverages, _registered_entry(run, row)


def _thai_person(run: DemoRun, created: datetime) -> tuple[Row, list[str]]:
    rng = run.rng
    primary = THAI_MIX.pick(rng)
    birth = _birth_date(rng, created, WORKING_AGES if primary in (SSS, SSR) else GENERAL_AGES)
    sex = rng.choice((FEMALE, MALE))
    given_th, given_en = _thai_given_name(rng, sex, birth.year)
    family_th, family_en = rng.choice(names.FAMILY_NAMES)
    row = _identity(sex, birth, (given_th, family_th), (given_en, family_en))
    row.update(national_id=_national_id(run, birth), passport_no=None,
               passport_country=None, nationality="TH", preferred_language="th")
    plan = [] if primary == SELF_PAY else [primary]
    if rng.random() < EXTRA_POLICY.get(primary, 0.0):
        plan.append(LIFE)
    return row, plan


def _foreign_person(run: DemoRun, created: datetime) -> tuple[Row, list[str]]:
    rng = run.rng
    country = COUNTRIES.pick(rng)
    birth = _birth_date(rng, created, WORKING_AGES if country.migrant else ADULT_AGES)
    sex = rng.choice((FEMALE, MALE))
    male, female, family = country.names
    given_th, given_en = rng.choice(male if sex == MALE else female)
    family_th, family_en = rng.choice(family)
    row = _identity(sex, birth, (given_th, family_th), (given_en, family_en))
    speaks_thai = rng.random() < country.thai_speaking
    row.update(national_id=None, passport_no=_passport(run, country.passport),
               passport_country=country.code, nationality=country.code,
               preferred_language="th" if speaks_thai else "en")
    # Registered migrant workers pay into social security; visitors may have a policy.
    if country.migrant:
        plan = [SSS] if rng.random() < 0.25 else []
    else:
        plan = [LIFE] if rng.random() < 0.45 else []
    return row, plan


def _identity(sex: str, birth: date, thai: tuple[str, str], roman: tuple[str, str]) -> Row:
    return {
        "given_name_th": thai[0], "family_name_th": thai[1],
        "given_name_en": roman[0], "family_name_en": roman[1],
        "birth_date": birth, "sex": sex,
    }


def _thai_given_name(rng: random.Random, sex: str, birth_year: int) -> names.Name:
    eras = GIVEN_BY_ERA[sex]
    era = 0 if birth_year < 1970 else 1 if birth_year < 1995 else 2
    # Naming fashion is a tendency, not a rule: one name in five from another generation.
    if rng.random() < 0.2:
        era = rng.randrange(3)
    return rng.choice(eras[era])


def _birth_date(rng: random.Random, created: datetime, ages: AgeRanges) -> date:
    """Drawn as age at registration, so nobody registers before being born."""
    youngest, oldest = ages.pick(rng)
    days = rng.randrange(youngest * 365, (oldest + 1) * 365)
    return created.date() - timedelta(days=days)


def _age(birth: date) -> int:
    before_birthday = (REFERENCE_DATE.month, REFERENCE_DATE.day) < (birth.month, birth.day)
    return REFERENCE_DATE.year - birth.year - before_birthday


def _next_hn(run: DemoRun, created: datetime) -> str:
    prefix = hn_prefix(created)
    number = run.last_hn[prefix] + 1
    if number > 999_999:
        raise ValueError(f"More than 999,999 registrations in Buddhist-era year {prefix}; "
                         "the HN pattern has no room. Generate fewer patients.")
    run.last_hn[prefix] = number
    return f"{prefix}{number:06d}"


def _national_id(run: DemoRun, birth: date) -> str:
    """Lead digit 1 (registered at birth, 1984 on) or 3 (the 1984 census), province,
    district, book and sequence numbers, then the check digit; unique in the table."""
    rng = run.rng
    lead = "1" if birth.year >= 1984 else "3"

    def draw() -> str:
        first12 = f"{lead}{PROVINCES.pick(rng)}{rng.randrange(1, 51):02d}{rng.randrange(10**7):07d}"
        return first12 + national_id_check_digit(first12)

    return _unique(run.national_ids, draw)


def _passport(run: DemoRun, pattern: str) -> str:
    rng = run.rng

    def draw() -> str:
        return "".join(
            rng.choice(string.ascii_uppercase) if ch == "L"
            else str(rng.randrange(10)) if ch == "#" else ch
            for ch in pattern
        )

    return _unique(run.passports, draw)


def _unique(seen: set[str], draw: Callable[[], str]) -> str:
    value = draw()
    while value in seen:
        value = draw()
    seen.add(value)
    return value


def _mobile(rng: random.Random) -> str:
    lead = MOBILE_LEAD.pick(rng)
    second = rng.randrange(1, 7) if lead == "6" else rng.randrange(10)
    return f"+66{lead}{second}{rng.randrange(10_000_000):07d}"


def _titles(rng: random.Random, sex: str, age: int) -> dict[str, str]:
    if age < 15:  # เด็กชาย / เด็กหญิง until fifteen
        th, en = ("ด.ช.", "Master") if sex == MALE else ("ด.ญ.", "Miss")
    elif sex == MALE:
        th, en = "นาย", "Mr"
    else:
        married = rng.random() < (0.1 if age < 25 else 0.5 if age < 35 else 0.7)
        th, en = ("นาง", "Mrs") if married else ("นางสาว", "Miss")
    return {"title_th": th, "title_en": en}


def _contact(run: DemoRun, age: int, created: datetime) -> Row:
    rng = run.rng
    if rng.random() < NO_PHONE:
        return {"phone_e164": None, "phone_alt_e164": None,
                "preferred_channel": NO_CHANNEL, "sms_consent": False,
                "sms_consent_changed_at": None, "sms_consent_source": ""}
    phone = _unique(run.phones, lambda: _mobile(rng))
    alt = _unique(run.phones, lambda: _mobile(rng)) if rng.random() < SECOND_PHONE else None
    channel = (CHANNEL_ELDERLY if age >= 70 else CHANNEL_YOUNGER).pick(rng)
    consent = rng.random() < SMS_CONSENT
    return {"phone_e164": phone, "phone_alt_e164": alt, "preferred_channel": channel,
            "sms_consent": consent, "sms_consent_changed_at": created if consent else None,
            "sms_consent_source": "registration" if consent else ""}


def _vital_status(rng: random.Random, age: int, created: datetime) -> Row:
    # About 1 % overall, mostly among the old.
    if rng.random() >= (0.035 if age >= 60 else 0.004):
        return {"deceased": False, "deceased_at": None}
    lived = (REFERENCE - created) * rng.uniform(0.05, 1.0)
    return {"deceased": True, "deceased_at": created + lived}


def _coverage(run: DemoRun, patient: Row, code: str, created: datetime) -> Row:
    row = {
        "id": run.next_id("coverage"), "patient_id": patient["id"], "segment_code": code,
        "payer_name": PUBLIC_PAYERS.get(code, ""),
        "member_id": patient["national_id"] or patient["passport_no"],
        "referral_from": "", "valid_from": created.date(), "valid_to": None,
        "active": True, "source": "demo", "created_at": created,
    }
    if code == LIFE:
        insurers = names.THAI_INSURERS if patient["nationality"] == "TH" else (
            names.INTERNATIONAL_INSURERS)
        row.update(payer_name=run.rng.choice(insurers),
                   member_id=str(run.rng.randrange(10**9, 10**10)))
    elif code == SSR:
        row.update(_referral(run.rng, created))
    return row


def _referral(rng: random.Random, created: datetime) -> Row:
    # A referral letter covers one course of care: issued recently and still valid on
    # the reference date, so the patient is in the referral segment now.
    issued = max(created.date(), REFERENCE_DATE - timedelta(days=rng.randrange(120)))
    return {"referral_from": rng.choice(names.REFERRING_HOSPITALS), "valid_from": issued,
            "valid_to": issued + timedelta(days=rng.randrange(180, 366))}


def _segment_of(nationality: str, coverages: list[Row], ranks: dict[str, int]) -> str:
    # The registry's own rule decides; it only reads attributes, so light stand-ins
    # spare us building ORM objects per row.
    facts = [SimpleNamespace(**c) for c in coverages]
    return derive_segment(facts, nationality=nationality, ranks=ranks,  # type: ignore[arg-type]
                          today=REFERENCE_DATE)


def _registered_entry(run: DemoRun, patient: Row) -> Row:
    return {
        "id": run.next_id("timeline_entry"), "patient_id": patient["id"],
        "occurred_at": patient["created_at"], "kind": "registered",
        "data": {"hn": patient["hn"], "segment": patient["segment_code"]},
        "body": "", "actor_user_id": None, "ref_type": "", "ref_id": None,
    }
