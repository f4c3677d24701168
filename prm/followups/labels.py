"""Words staff see for rules, priorities and attempt outcomes."""

from __future__ import annotations

from prm.i18n import _
from prm.models.worklist import AttemptOutcome, FollowUpRule, Priority


def rule_labels() -> dict[str, str]:
    return {
        FollowUpRule.abnormal_lab: _("Abnormal lab results"),
        FollowUpRule.missed_pickup: _("Missed medicine pickup"),
        FollowUpRule.no_show: _("No-shows to rebook"),
        FollowUpRule.discharge_call: _("Post-discharge calls"),
        FollowUpRule.discharge_appointment: _("Discharge without follow-up appointment"),
        FollowUpRule.lapsed_return: _("Overdue return visits"),
    }


def rule_reasons() -> dict[str, str]:
    """What the item means, in plain words, for the row."""
    return {
        FollowUpRule.abnormal_lab: _("Lab result outside the normal range — tell the patient "
                                     "and arrange care"),
        FollowUpRule.missed_pickup: _("Did not collect medicines on schedule"),
        FollowUpRule.no_show: _("Missed an appointment — call and rebook"),
        FollowUpRule.discharge_call: _("Discharged from the ward — check how they are"),
        FollowUpRule.discharge_appointment: _("Discharged with no follow-up appointment"),
        FollowUpRule.lapsed_return: _("Usually returns regularly but is overdue"),
    }


def rule_threshold_units() -> dict[str, str]:
    return {
        FollowUpRule.abnormal_lab: _("days after release (0 = at once)"),
        FollowUpRule.missed_pickup: _("days after the pickup date"),
        FollowUpRule.no_show: _("hours after the slot without check-in"),
        FollowUpRule.discharge_call: _("hours after discharge"),
        FollowUpRule.discharge_appointment: _("days after discharge"),
        FollowUpRule.lapsed_return: _("% beyond the patient's usual interval"),
    }


def priority_labels() -> dict[str, str]:
    return {
        Priority.critical: _("Critical"),
        Priority.high: _("High"),
        Priority.normal: _("Normal"),
        Priority.low: _("Low"),
    }


def outcome_labels() -> dict[str, str]:
    return {
        AttemptOutcome.reached: _("Reached, informed"),
        AttemptOutcome.no_answer: _("No answer"),
        AttemptOutcome.wrong_number: _("Wrong number"),
        AttemptOutcome.agreed_to_visit: _("Agreed to come in"),
        AttemptOutcome.rebooked: _("Rebooked (new appointment)"),
        AttemptOutcome.refused: _("Refused"),
        AttemptOutcome.moved_elsewhere: _("Moved to another hospital"),
        AttemptOutcome.deceased: _("Deceased"),
        AttemptOutcome.call_back_later: _("Call back later"),
    }


def count_label(count: int, limit: int) -> str:
    """A queue's count as its tab shows it: "999+" past the limit it was counted to."""
    return f"{limit:,}+" if count > limit else f"{count:,}"
