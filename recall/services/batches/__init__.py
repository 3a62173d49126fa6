"""Invitation batches: plan who is due, let staff untick people, confirm "sent", or void.

Each use-case loads facts (store), asks the one invitation rule (domain/invitations.py),
writes (store) and audits: `plan` (who is due, who is left out and why), `review` (staff
ticks), `letters_check` (the rule again before letters are made), `confirm` (the codes, dated
the send date), `void` (and the ad-hoc invitation).
"""

from recall.services.batches.confirm import confirm_batch
from recall.services.batches.letters_check import recheck_and_load
from recall.services.batches.model import (
    BatchInfo,
    BatchPlan,
    CodeLine,
    ConfirmResult,
    Excluded,
    Invitee,
    as_made_note,
)
from recall.services.batches.plan import check_stage_arg, plan_adhoc, plan_batch
from recall.services.batches.read import get_batch, list_batches
from recall.services.batches.review import exclude_patient, include_patient, set_excluded
from recall.services.batches.void import invite_patient, void_batch

__all__ = [
    "BatchInfo",
    "BatchPlan",
    "CodeLine",
    "ConfirmResult",
    "Excluded",
    "Invitee",
    "as_made_note",
    "check_stage_arg",
    "confirm_batch",
    "exclude_patient",
    "get_batch",
    "include_patient",
    "invite_patient",
    "list_batches",
    "plan_adhoc",
    "plan_batch",
    "recheck_and_load",
    "set_excluded",
    "void_batch",
]
