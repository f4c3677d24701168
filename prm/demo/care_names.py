"""Reference data for the demo hospital's care records (``prm.demo.care``): departments
and their doctors, opening hours, visit reasons, chronic regimens with the drugs Thai
hospitals dispense most, laboratory tests with units and reference ranges as printed on
Thai lab reports, and the mixes the generator draws from. Lab results are drawn here too:
they depend on this data only.
"""

from __future__ import annotations

import random
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from prm.demo import names
from prm.demo.draw import Weighted

DAY, HOUR, MINUTE = timedelta(days=1), timedelta(hours=1), timedelta(minutes=1)


# (code, Thai name, English name, share of one-off outpatient visits)
CLINICS: list[tuple[str, str, str, float]] = [
    ("MED", "อายุรกรรม", "Internal medicine", 24),
    ("SUR", "ศัลยกรรม", "Surgery", 9),
    ("PED", "กุมารเวชกรรม", "Pediatrics", 0),  # children only, chosen by age
    ("OBG", "สูติ-นรีเวชกรรม", "Obstetrics & gynaecology", 0),  # women 15–50, by age
    ("ORT", "ออร์โธปิดิกส์", "Orthopaedics", 9),
    ("EYE", "จักษุ", "Ophthalmology", 8),
    ("ENT", "หู คอ จมูก", "ENT", 7),
    ("DEN", "ทันตกรรม", "Dental", 12),
    ("DM", "คลินิกเบาหวาน", "Diabetes clinic", 2),
    ("HT", "คลินิกความดันโลหิตสูง", "Hypertension clinic", 2),
    ("CARD", "อายุรกรรมหัวใจ", "Cardiology", 4),
    ("PSY", "จิตเวช", "Psychiatry", 4),
    ("REHAB", "เวชศาสตร์ฟื้นฟู", "Rehabilitation", 5),
]

# Doctors per clinic (3–5 elsewhere): the busy ones need more to see half their patients
# by name at 32 slots a day.
STAFF = {"MED": (7, 8), "DEN": (5, 7), "DM": (5, 7), "HT": (5, 7), "PED": (5, 6),
         "SUR": (4, 6), "ORT": (4, 6), "OBG": (4, 6), "CARD": (4, 6)}
ADULT_CLINICS = Weighted((code, share) for code, _, _, share in CLINICS if share)
CHILD_CLINICS = Weighted([("PED", 80), ("DEN", 8), ("ENT", 7), ("EYE", 5)])
# Where inpatients are admitted, for adults (children go to PED).
ADMITTING = Weighted([("MED", 40), ("SUR", 20), ("ORT", 12), ("CARD", 10), ("OBG", 10),
                      ("PSY", 3)])
# One-off visits per patient over the two years, without and with a long-term condition.
# Everyone alive has at least one: a patient without care is one the generator has not
# seen yet (which keeps a second run from adding to the first).
ONE_OFF_VISITS = Weighted([(1, 22), (2, 22), (3, 18), (4, 13), (5, 10), (6, 7), (7, 5),
                           (8, 3)])
CHRONIC_EXTRA_VISITS = Weighted([(0, 40), (1, 35), (2, 25)])

# How often things happen, per living patient unless said otherwise.
CLINICIAN_SHARE = 0.5

ADMITTED, EMERGENCY = 0.03, 0.05
DISCHARGE_FOLLOW_UP = 0.8  # of patients sent home: ~75 % of all discharges
CHRONIC_BY_AGE = ((15, 0.03), (40, 0.10), (60, 0.36), (200, 0.60))
LAB_SHARE = {True: 0.85, False: 0.25}  # chronic or not: ~40 % of patients overall
# How a chronic patient stands on the reference day (the rest collect on time).
OVERDUE, STOPPED, ACTIVE = "overdue", "stopped", "active"
PHASES = Weighted([(OVERDUE, 9.5), (STOPPED, 9), (ACTIVE, 81.5)])
SUPPLY_DAYS = (28, 56, 84, 84, 90)
PREPARED_WAITING = 0.02  # orders whose prepared medicines sit at the pharmacy
# Regular visitors mostly hold their next appointment; this share has simply lapsed.
ONE_OFF_LAPSE = 0.08

COMMON_REASONS = ["ติดตามอาการ", "ตรวจตามนัด", "ฟังผลตรวจ", "ปรึกษาแพทย์", "ตรวจเลือด"]
CLINIC_REASONS: dict[str, list[str]] = {
    "MED": ["ไข้ ไอ เจ็บคอ", "ปวดท้อง", "ตรวจสุขภาพประจำปี", "เวียนศีรษะ"],
    "SUR": ["ทำแผล", "ตัดไหม", "ก้อนที่เต้านม", "ไส้เลื่อน"],
    "PED": ["ฉีดวัคซีน", "ตรวจพัฒนาการ", "ไข้ ไอ น้ำมูก", "ท้องเสีย"],
    "OBG": ["ฝากครรภ์", "ตรวจครรภ์ตามนัด", "ตรวจภายใน", "ตรวจคัดกรองมะเร็งปากมดลูก"],
    "ORT": ["ปวดเข่า", "ปวดหลัง", "เข้าเฝือก", "ติดตามหลังผ่าตัด"],
    "EYE": ["ตรวจตา", "ตรวจจอประสาทตาเบาหวาน", "ต้อกระจก", "วัดความดันลูกตา"],
    "ENT": ["เจ็บคอ", "หูอื้อ", "ไซนัสอักเสบ", "ตรวจการได้ยิน"],
    "DEN": ["ขูดหินปูน", "อุดฟัน", "ถอนฟัน", "ตรวจฟัน"],
    "DM": ["รับยาต่อเนื่อง", "ตรวจน้ำตาลในเลือด", "ตรวจเท้าเบาหวาน"],
    "HT": ["รับยาต่อเนื่อง", "วัดความดันโลหิต"],
    "CARD": ["รับยาต่อเนื่อง", "ตรวจคลื่นไฟฟ้าหัวใจ", "เจ็บหน้าอก", "ใจสั่น"],
    "PSY": ["รับยาต่อเนื่อง", "นอนไม่หลับ", "ปรึกษาจิตแพทย์"],
    "REHAB": ["กายภาพบำบัด", "ฝึกเดิน", "ปวดคอ บ่า ไหล่"],
}
CHRONIC_REASONS = ["รับยาต่อเนื่อง", "ติดตามอาการ", "ตรวจเลือดก่อนพบแพทย์", "ตรวจตามนัด"]
DISCHARGE_REASON = "ติดตามอาการหลังจำหน่าย"
RECALL_REASON = "นัดติดตามต่อเนื่อง"
CANCEL_REASONS = [
    "ผู้ป่วยขอเลื่อนนัด", "ติดธุระ มาไม่ได้", "ไม่สบาย มาไม่ได้", "แพทย์งดออกตรวจ",
    "ย้ายไปรักษาที่อื่น", "เดินทางไม่สะดวก", "อาการดีขึ้นแล้ว",
]
# Most appointments are made at the desk; the rest by phone or through the call centre.
BOOKED_VIA = Weighted([("desk", 70), ("phone", 18), ("call_centre", 12)])

DOCTOR_TITLES = {"male": ("นพ.", "Dr"), "female": ("พญ.", "Dr")}


def doctor_name(rng: random.Random) -> dict[str, str]:
    """นพ. (male) or พญ. (female) with a given name of the working generations."""
    sex = rng.choice(("male", "female"))
    pool = (names.MALE_MID + names.MALE_NEW) if sex == "male" else (
        names.FEMALE_MID + names.FEMALE_NEW)
    (given_th, given_en), (family_th, family_en) = rng.choice(pool), rng.choice(
        names.FAMILY_NAMES)
    title_th, title_en = DOCTOR_TITLES[sex]
    return {"name_th": f"{title_th}{given_th} {family_th}",
            "name_en": f"{title_en} {given_en} {family_en}"}


BANGKOK = timedelta(hours=7)  # Thailand keeps no daylight saving time
# Quarter hours from 07:30 Bangkok: appointments take 08:00–15:45 on weekdays, check-in
# is a little before, the visit is closed an hour after.
MARKS, FIRST_SLOT, SLOTS = 40, 2, 32
QUARTER = timedelta(minutes=15)


def _sign(number: int) -> int:
    return (number > 0) - (number < 0)


class Calendar:
    """Every quarter-hour mark on the days ``before`` the reference to ``after`` it, as
    aware UTC datetimes and as the values the database driver takes ("stamps"), computed
    once: per-row date arithmetic and formatting would dominate a million appointments.
    Days are offsets from the reference's Bangkok date (0)."""

    def __init__(self, reference: datetime, sqlite: bool, before: int, after: int) -> None:
        self.reference, self.sqlite = reference.astimezone(UTC), sqlite
        self.today = (self.reference + BANGKOK).date()
        self.first = -before
        first_day = self.today - timedelta(days=before)
        days = before + after + 1
        start = datetime(first_day.year, first_day.month, first_day.day, 7, 30, tzinfo=UTC)
        self.times = [start - BANGKOK + i * DAY + m * QUARTER
                      for i in range(days) for m in range(MARKS)]
        self.stamps = [self.stamp(t) for t in self.times]
        # The demo's today is a working day whatever the weekday (a weekend clinic), so
        # the desk and the worklists have a day to show on the day the demo is tried.
        weekdays = [0 if i + self.first == 0 else (first_day + i * DAY).weekday()
                    for i in range(days)]
        self.snapped = [self._weekday(i, weekdays[i]) for i in range(days)]
        self.weekdays = [i + self.first for i in range(days) if weekdays[i] < 5]

    def _weekday(self, index: int, weekday: int) -> int:
        # Saturday to Friday, Sunday to Monday; the other way when that would move a
        # day onto or across the reference day (what is past stays past).
        if weekday < 5:
            return index
        day, step = index + self.first, 1 if weekday == 6 else -1
        if day and _sign(day + step) != _sign(day):
            step = 2 if weekday == 5 else -2
        return index + step

    def weekday_between(self, low: int, high: int, draw: float) -> int:
        """The weekday (as a day offset) at ``draw`` ∈ [0, 1) of those in [low, high]."""
        first, last = bisect_left(self.weekdays, low), bisect_right(self.weekdays, high)
        return self.weekdays[first + int(draw * (last - first))]

    def mark(self, day: int, quarter: int) -> int:
        """Index into times and stamps: ``quarter`` on weekday ``day`` or the nearest."""
        return self.snapped[day - self.first] * MARKS + quarter

    def stamp(self, moment: datetime | None) -> Any:
        """An aware UTC datetime as the driver takes it. On SQLite: the exact text
        SQLAlchemy's DATETIME stores, because queries compare these columns as text."""
        if moment is None or not self.sqlite:
            return moment
        return moment.replace(tzinfo=None).isoformat(" ", "microseconds")

    def day_stamp(self, day: date) -> date | str:
        return day.isoformat() if self.sqlite else day

    def day_of(self, moment: datetime) -> int:
        return ((moment + BANGKOK).date() - self.today).days

    def midnight(self, day: int) -> datetime:
        return self.times[(day - self.first) * MARKS] - 7.5 * HOUR


@dataclass(frozen=True)
class Drug:
    name: str
    instructions: str


METFORMIN = Drug("Metformin 500 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 2 ครั้ง หลังอาหารเช้า-เย็น")
GLIPIZIDE = Drug("Glipizide 5 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง ก่อนอาหารเช้า")
AMLODIPINE = Drug("Amlodipine 5 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง หลังอาหารเช้า")
LOSARTAN = Drug("Losartan 50 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง หลังอาหารเช้า")
ENALAPRIL = Drug("Enalapril 5 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 2 ครั้ง หลังอาหาร")
HCTZ = Drug("Hydrochlorothiazide 25 mg tab", "รับประทานครั้งละ ½ เม็ด วันละ 1 ครั้ง หลังอาหารเช้า")
SIMVASTATIN = Drug("Simvastatin 20 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง ก่อนนอน")
ATORVASTATIN = Drug("Atorvastatin 40 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง ก่อนนอน")
ASPIRIN = Drug("Aspirin 81 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง หลังอาหารเช้าทันที")
LEVOTHYROXINE = Drug("Levothyroxine 50 mcg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง ก่อนอาหารเช้า")
OMEPRAZOLE = Drug("Omeprazole 20 mg cap", "รับประทานครั้งละ 1 แคปซูล วันละ 1 ครั้ง ก่อนอาหารเช้า")
SALBUTAMOL = Drug("Salbutamol inhaler 100 mcg/dose", "สูดครั้งละ 2 พัฟ เมื่อมีอาการหอบ")
BUDESONIDE = Drug("Budesonide inhaler 200 mcg/dose", "สูดครั้งละ 1 พัฟ วันละ 2 ครั้ง เช้า-เย็น")
SERTRALINE = Drug("Sertraline 50 mg tab", "รับประทานครั้งละ 1 เม็ด วันละ 1 ครั้ง หลังอาหารเช้า")


@dataclass(frozen=True)
class Regimen:
    """A long-term condition: where it is followed, what is dispensed, what is tested."""

    clinic: str
    drugs: tuple[Drug, ...]  # the first always; each further one for about half
    labs: tuple[str, ...]
    adult_weight: float
    child_weight: float = 0.0


REGIMENS: list[Regimen] = [
    Regimen("DM", (METFORMIN, SIMVASTATIN, GLIPIZIDE), ("FBS", "HBA1C", "CREA", "EGFR", "LDL"),
            30),
    Regimen("HT", (AMLODIPINE, HCTZ, SIMVASTATIN), ("CREA", "K", "LDL", "EGFR"), 22),
    Regimen("HT", (LOSARTAN, AMLODIPINE), ("CREA", "K", "EGFR"), 10),
    Regimen("HT", (ENALAPRIL,), ("CREA", "K"), 6),
    Regimen("CARD", (ASPIRIN, ATORVASTATIN), ("LDL", "ALT", "CREA"), 10),
    Regimen("MED", (LEVOTHYROXINE,), ("TSH",), 6),
    Regimen("MED", (OMEPRAZOLE,), ("HB",), 6),
    Regimen("MED", (SALBUTAMOL, BUDESONIDE), ("WBC",), 5, child_weight=1),
    Regimen("PSY", (SERTRALINE,), ("ALT",), 5),
]
ADULT_REGIMENS = Weighted((r, r.adult_weight) for r in REGIMENS)
CHILD_REGIMENS = Weighted((r, r.child_weight) for r in REGIMENS if r.child_weight)
# Tests ordered for patients without a long-term condition.
GENERAL_LABS = ("HB", "WBC", "FBS", "ALT", "CREA", "LDL", "UPROT")

Range = tuple[float, float]
NORMAL = "normal"


@dataclass(frozen=True)
class LabTest:
    """A test and the value ranges each interpretation is drawn from (None: not seen).

    Qualitative tests give ``words``: the normal answers, then the abnormal ones.
    """

    code: str
    name: str
    unit: str
    reference_range: str
    decimals: int = 0
    normal: Range = (0, 0)
    high: Range | None = None
    low: Range | None = None
    critical_high: Range | None = None
    critical_low: Range | None = None
    words: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def interpretation(self, rng: random.Random) -> str:
        """About 86.5 % normal, 12 % high, low or abnormal and 1.5 % critical: 2 % where
        the test has critical values, whose share goes to high or low elsewhere."""
        draw = rng.random()
        if draw >= 0.135:
            return NORMAL
        if self.words:
            return "abnormal"
        critical = [k for k in ("critical_high", "critical_low") if getattr(self, k)]
        if draw < 0.02 and critical:
            return rng.choice(critical)
        return rng.choice([k for k in ("high", "low") if getattr(self, k)])

    def value(self, rng: random.Random, interpretation: str) -> str:
        if self.words:
            return rng.choice(self.words[interpretation != NORMAL])
        low, high = getattr(self, interpretation)
        return f"{rng.uniform(low, high):.{self.decimals}f}"


LAB_TESTS: dict[str, LabTest] = {t.code: t for t in [
    LabTest("FBS", "Fasting blood sugar", "mg/dL", "70-100", 0, (72, 99), high=(101, 190),
            low=(55, 69), critical_high=(480, 620), critical_low=(28, 39)),
    LabTest("HBA1C", "HbA1c", "%", "4.0-6.4", 1, (4.6, 6.4), high=(6.5, 11.8)),
    LabTest("CREA", "Creatinine", "mg/dL", "0.6-1.2", 2, (0.62, 1.18), high=(1.25, 3.4),
            low=(0.35, 0.55), critical_high=(6.0, 9.5)),
    LabTest("EGFR", "eGFR (CKD-EPI)", "mL/min/1.73m2", ">= 90", 0, (90, 125),
            low=(30, 89), critical_low=(5, 14)),
    LabTest("K", "Potassium", "mmol/L", "3.5-5.1", 1, (3.5, 5.1), high=(5.2, 6.0),
            low=(2.8, 3.4), critical_high=(6.5, 7.6), critical_low=(1.9, 2.4)),
    LabTest("LDL", "LDL cholesterol", "mg/dL", "< 130", 0, (62, 129), high=(131, 230)),
    LabTest("HB", "Hemoglobin", "g/dL", "12.0-16.0", 1, (12.0, 15.9), high=(16.1, 18.2),
            low=(8.0, 11.9), critical_low=(4.2, 6.4)),
    LabTest("WBC", "White blood cell count", "x10^3/uL", "4.5-11.0", 1, (4.5, 11.0),
            high=(11.1, 24.0), low=(2.2, 4.4), critical_low=(0.4, 0.9)),
    LabTest("ALT", "ALT (SGPT)", "U/L", "0-40", 0, (8, 40), high=(41, 210)),
    LabTest("TSH", "TSH", "mIU/L", "0.27-4.20", 2, (0.4, 4.1), high=(4.3, 16.0),
            low=(0.01, 0.26)),
    LabTest("UPROT", "Urine protein (dipstick)", "", "Negative",
            words=(("Negative",), ("1+", "2+", "3+"))),
]}
LAB_STATUS = Weighted([("final", 95), ("amended", 3), ("preliminary", 2)])
LAB_WINDOW = timedelta(days=180)
UNREAD_ABNORMAL = timedelta(days=10)  # older abnormal results have mostly been read


def draw_lab_results(rng: random.Random, reference: datetime, visits: list[datetime],
                     panel: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """1–4 results released in the 180 days before ``reference``, most drawn at one of
    the ``visits``: (test_code, test_name, value, unit, reference_range, interpretation,
    status, released_at, acknowledged_at or None)."""
    recent = [t for t in visits if reference - t < LAB_WINDOW]
    results = []
    for _ in range(1 + int(rng.random() * 4)):
        drawn = (recent[int(rng.random() * len(recent))] if recent and rng.random() < 0.7
                 else reference - LAB_WINDOW * rng.random())
        released = min(drawn + (2 + rng.random() * 4) * HOUR, reference - 30 * MINUTE)
        results.append(_lab_result(rng, reference, LAB_TESTS[rng.choice(panel)], released))
    return results


def _lab_result(rng: random.Random, reference: datetime, test: LabTest, released: datetime
                ) -> tuple[Any, ...]:
    interpretation = test.interpretation(rng)
    age = reference - released
    # Results are read within days; recent abnormal ones make the call-back worklist.
    if interpretation == NORMAL:
        read = 0.95 if age > 3 * DAY else 0.4
    else:
        read = 0.95 if age > UNREAD_ABNORMAL else 0.2
    acknowledged = released + min(age, 5 * DAY) * (0.05 + 0.9 * rng.random())
    return (test.code, test.name, test.value(rng, interpretation), test.unit,
            test.reference_range, interpretation, LAB_STATUS.pick(rng), released,
            acknowledged if rng.random() < read else None)
