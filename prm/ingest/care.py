"""Care records from the hospital's records: where (clinics), who (clinicians),
appointments, visits, medicine orders and dispenses, lab results and their release."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import bindparam, delete, insert, select, update

from prm.ingest import keys
from prm.ingest.context import IngestContext
from prm.ingest.records import (
    AppointmentRecord,
    ClinicRef,
    EncounterRecord,
    LabReportRecord,
    LabResultRecord,
    MedicationDispenseRecord,
    MedicationOrderRecord,
    OrganizationRecord,
    PractitionerRecord,
)
from prm.ingest.writer import Item, Writer
from prm.models.care import (
    _SLOT_HOLDING,
    Appointment,
    AppointmentChange,
    Clinic,
    Clinician,
    Encounter,
    LabResult,
    MedicationDispense,
    MedicationOrder,
)

DEFAULT_CLINIC = ClinicRef("hospital-records", "Hospital records")
DEFAULT_SUPPLY_DAYS = 30
HOLDING_STATUSES = tuple(
    s.strip(" '") for s in _SLOT_HOLDING.split("(")[1].rstrip(")").split(","))


class OrganizationWriter(Writer):
    """Organizations name the places visits happen; they become clinics for display."""

    table = Clinic.__table__

    def required_refs(self, record) -> tuple[str, ...]:
        return ()

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        # A clinic with this code may exist already (e.g. from an earlier server).
        codes = {_org_code(i.record): i for i in items if i.is_new}
        for clinic_id, code in ctx.session.execute(
                select(Clinic.id, Clinic.code).where(Clinic.code.in_(list(codes)))):
            codes[code].local_id = clinic_id
        return items

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: OrganizationRecord = item.record
        name = (record.name or record.key.resource_id)[:120]
        return {"name_th": name, "name_en": name, "active": True}

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {"code": _org_code(item.record)}

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        ctx.session.execute(update(Clinic).where(Clinic.id.in_(local_ids)).values(active=False))


def _org_code(record: OrganizationRecord) -> str:
    """``org:<id>``; an id too long for the 40-character code keeps its start and a digest
    of the whole, so two long ids with the same start stay two clinics."""
    resource_id = record.key.resource_id
    if len(resource_id) <= 36:
        return f"org:{resource_id}"
    digest = hashlib.blake2b(resource_id.encode(), digest_size=8).hexdigest()
    return f"org:{resource_id[:19]}~{digest}"


class PractitionerWriter(Writer):
    table = Clinician.__table__

    def required_refs(self, record) -> tuple[str, ...]:
        return ()

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: PractitionerRecord = item.record
        return {"name_en": (record.name_en or record.name_th)[:200],
                "name_th": (record.name_th or record.name_en)[:200], "active": True}

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        ctx.session.execute(
            update(Clinician).where(Clinician.id.in_(local_ids)).values(active=False))


def _clinic_ids(ctx: IngestContext, refs: list[ClinicRef]) -> dict[str, int]:
    """Clinic ids by code, creating the clinics a source names for the first time."""
    wanted = {ref.code[:40]: ref for ref in refs}
    found = dict(ctx.session.execute(
        select(Clinic.code, Clinic.id).where(Clinic.code.in_(list(wanted)))).all())
    missing = [ref for code, ref in wanted.items() if code not in found]
    if missing:
        ctx.session.execute(insert(Clinic), [
            {"code": ref.code[:40], "name_th": (ref.name or ref.code)[:120],
             "name_en": (ref.name or ref.code)[:120], "active": True} for ref in missing])
        found.update(ctx.session.execute(select(Clinic.code, Clinic.id).where(
            Clinic.code.in_([ref.code[:40] for ref in missing]))).all())
    return found


def _clinic_for(item: Item, clinics: dict[str, int], default: ClinicRef | None):
    record = item.record
    if record.organization_ref and record.organization_ref in item.refs:
        return item.refs[record.organization_ref]
    ref = record.clinic or default
    return clinics[ref.code[:40]] if ref else None


class EncounterWriter(Writer):
    table = Encounter.__table__

    def optional_refs(self, record) -> tuple[str, ...]:
        return (record.organization_ref,) if record.organization_ref else ()

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        cancelled = [i for i in items if i.record.cancelled]
        if cancelled:
            self.delete(ctx, [i.local_id for i in cancelled if not i.is_new])
            # Keyed as deleted, so a later version that reinstates the visit inserts it
            # again instead of updating the removed row.
            keys.save(ctx.session, [(i.record.key, i.fingerprint, None, True)
                                    for i in cancelled],
                      {i.record.key.resource_id: i.stored for i in cancelled if i.stored})
            for item in cancelled:
                ctx.summary.counts(item.record.key.resource_type).skipped += 1
        kept = [i for i in items if not i.record.cancelled]
        self._clinics = _clinic_ids(ctx, [i.record.clinic for i in kept if i.record.clinic])
        return kept

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: EncounterRecord = item.record
        return {"patient_id": item.refs[record.patient_ref],
                "encounter_class": record.encounter_class,
                "clinic_id": _clinic_for(item, self._clinics, None),
                "started_at": record.started_at,
                # Only a finished visit has been left; one in progress has no discharge.
                "discharged_at": record.ended_at if record.finished else None,
                "discharge_disposition": record.discharge_disposition[:60]}

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {"created_at": ctx.now}

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        if not local_ids:
            return
        ctx.session.execute(update(Appointment).where(
            Appointment.follow_up_of_encounter_id.in_(local_ids)).values(
            follow_up_of_encounter_id=None))
        ctx.session.execute(delete(Encounter).where(Encounter.id.in_(local_ids)))


class AppointmentWriter(Writer):
    table = Appointment.__table__

    def optional_refs(self, record) -> tuple[str, ...]:
        return tuple(r for r in (record.practitioner_ref, record.organization_ref) if r)

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        self._clinics = _clinic_ids(
            ctx, [i.record.clinic or DEFAULT_CLINIC for i in items])
        # What each appointment was before, for its change history.
        self._before = {row.id: (row.status, row.starts_at) for row in ctx.session.execute(
            select(Appointment.id, Appointment.status, Appointment.starts_at).where(
                Appointment.id.in_([i.local_id for i in items if not i.is_new])))}
        self._taken = _taken_slots(ctx, items)
        return items

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: AppointmentRecord = item.record
        clinician_id = item.refs.get(record.practitioner_ref or "")
        if clinician_id and record.status in HOLDING_STATUSES:
            clinician_id = self._claim_slot(item, clinician_id)
        return {"patient_id": item.refs[record.patient_ref],
                "clinic_id": _clinic_for(item, self._clinics, DEFAULT_CLINIC),
                "clinician_id": clinician_id, "starts_at": record.starts_at,
                "minutes": record.minutes, "status": record.status,
                "reason": record.reason[:300], "cancel_reason": record.cancel_reason[:300],
                "updated_at": ctx.now}

    def _claim_slot(self, item: Item, clinician_id: int) -> int | None:
        # The hospital's scheduler is the truth; when it double-books a clinician's slot
        # the appointment is kept without the clinician rather than refused.
        slot, me = (clinician_id, item.record.starts_at), item.local_id or id(item)
        holder = self._taken.setdefault(slot, me)
        return clinician_id if holder == me else None

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {"booked_via": "hospital", "created_at": ctx.now, "checked_in_at": None,
                "follow_up_of_encounter_id": None, "created_by_user_id": None}

    def after(self, ctx: IngestContext, items: list[Item]) -> None:
        """Status changes and reschedules from the source join the appointment's history."""
        changes = []
        for item in items:
            status, starts_at = self._before.get(item.local_id, ("", None))
            record: AppointmentRecord = item.record
            if status == record.status and starts_at == record.starts_at:
                continue
            changes.append({
                "appointment_id": item.local_id, "changed_at": ctx.now,
                "from_status": status, "to_status": record.status,
                "from_starts_at": starts_at if starts_at != record.starts_at else None,
                "to_starts_at": record.starts_at, "reason": "hospital records",
                "actor_user_id": None})
        if changes:
            ctx.session.execute(insert(AppointmentChange), changes)

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        # Calls and worklist attempts may point at it: cancel rather than remove.
        ctx.session.execute(update(Appointment).where(Appointment.id.in_(local_ids)).values(
            status="cancelled", cancel_reason="Deleted in the hospital's records"))


def _taken_slots(ctx: IngestContext, items: list[Item]) -> dict:
    starts = {i.record.starts_at for i in items}
    if not starts:
        return {}
    rows = ctx.session.execute(
        select(Appointment.clinician_id, Appointment.starts_at, Appointment.id)
        .where(Appointment.starts_at.in_(list(starts)), Appointment.clinician_id.is_not(None),
               Appointment.status.in_(HOLDING_STATUSES)))
    return {(clinician_id, starts_at): row_id for clinician_id, starts_at, row_id in rows}


class MedicationOrderWriter(Writer):
    table = MedicationOrder.__table__

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: MedicationOrderRecord = item.record
        active = record.active and not (
            record.valid_to and record.valid_to < ctx.now.astimezone(ctx.tz).date())
        return {"patient_id": item.refs[record.patient_ref],
                "medication": record.medication[:200],
                "instructions": record.instructions[:300], "ordered_at": record.ordered_at,
                "supply_days": record.supply_days or DEFAULT_SUPPLY_DAYS,
                "refills_remaining": record.refills, "active": active}

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        record: MedicationOrderRecord = item.record
        # Expected supply duration → when the patient should be back for more.
        due = None
        if record.supply_days:
            due = (record.ordered_at.astimezone(ctx.tz).date()
                   + timedelta(days=record.supply_days))
        return {"next_pickup_due": due, "clinic_id": None}

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        ctx.session.execute(delete(MedicationDispense).where(
            MedicationDispense.order_id.in_(local_ids)))
        ctx.session.execute(delete(MedicationOrder).where(MedicationOrder.id.in_(local_ids)))


class MedicationDispenseWriter(Writer):
    table = MedicationDispense.__table__

    def required_refs(self, record) -> tuple[str, ...]:
        return tuple(r for r in (record.patient_ref, record.order_ref) if r)

    def prepare(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        kept = []
        for item in items:
            if item.record.order_ref:
                kept.append(item)
            else:
                ctx.reject(item.record, "A dispense without its prescription "
                           "(authorizingPrescription) cannot be followed up")
        return kept

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: MedicationDispenseRecord = item.record
        return {"patient_id": item.refs[record.patient_ref],
                "order_id": item.refs[record.order_ref], "status": record.status,
                "prepared_at": record.prepared_at or record.handed_over_at or ctx.now,
                "handed_over_at": record.handed_over_at}

    def after(self, ctx: IngestContext, items: list[Item]) -> None:
        """Collected medicines move the order's next pickup on by the supply handed over."""
        handed = [i for i in items if i.record.status == "handed_over"
                  and i.record.handed_over_at]
        if not handed:
            return
        order_ids = [i.refs[i.record.order_ref] for i in handed]
        orders = {row.id: row for row in ctx.session.execute(
            select(MedicationOrder.id, MedicationOrder.supply_days,
                   MedicationOrder.next_pickup_due).where(MedicationOrder.id.in_(order_ids)))}
        due: dict[int, object] = {}
        for item in handed:
            order = orders[item.refs[item.record.order_ref]]
            days = item.record.days_supply or order.supply_days
            next_due = item.record.handed_over_at.astimezone(ctx.tz).date() + timedelta(days)
            best = max(d for d in (due.get(order.id), order.next_pickup_due, next_due) if d)
            due[order.id] = best
        ctx.session.execute(
            update(MedicationOrder.__table__).where(
                MedicationOrder.__table__.c.id == bindparam("_id")),
            [{"_id": order_id, "next_pickup_due": day} for order_id, day in due.items()])

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        ctx.session.execute(delete(MedicationDispense).where(
            MedicationDispense.id.in_(local_ids)))


class LabResultWriter(Writer):
    table = LabResult.__table__

    def values(self, ctx: IngestContext, item: Item) -> dict:
        record: LabResultRecord = item.record
        values = {"patient_id": item.refs[record.patient_ref],
                  "test_code": record.test_code[:40], "test_name": record.test_name[:200],
                  "value": record.value[:100], "unit": record.unit[:40],
                  "reference_range": record.reference_range[:100],
                  "interpretation": record.interpretation, "status": record.status[:12],
                  "released_at": record.released_at}
        if record.status in ("amended", "corrected"):
            # A changed result needs a fresh look, even if someone acknowledged the old one.
            values.update(acknowledged_at=None, acknowledged_by_user_id=None)
        return values

    def insert_defaults(self, ctx: IngestContext, item: Item) -> dict:
        return {"acknowledged_at": None, "acknowledged_by_user_id": None}

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        ctx.session.execute(delete(LabResult).where(LabResult.id.in_(local_ids)))


RELEASING_STATUSES = ("final", "amended", "corrected", "appended")


class LabReportWriter(Writer):
    """A final report releases the results it lists; it has no row of its own."""

    table = LabResult.__table__

    def required_refs(self, record: LabReportRecord) -> tuple[str, ...]:
        return (record.patient_ref, *record.result_refs)

    def _write_rows(self, ctx: IngestContext, items: list[Item]) -> list[Item]:
        releases = [
            {"_id": item.refs[ref], "issued": item.record.issued_at}
            for item in items if item.record.status in RELEASING_STATUSES
            and item.record.issued_at for ref in item.record.result_refs]
        if releases:
            table = LabResult.__table__
            ctx.session.execute(
                update(table).where(table.c.id == bindparam("_id"),
                                    table.c.released_at.is_(None))
                .values(released_at=bindparam("issued")), releases)
        return items

    def delete(self, ctx: IngestContext, local_ids: list[int]) -> None:
        """Withdrawing a report does not un-release results staff may have acted on."""
