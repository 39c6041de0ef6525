"""Shared helpers for the tests: the committed packs, and records to start cases from.

The base records are written out by hand so that every case's arithmetic starts from a
known position: `full_marks_inpatient()` earns every point of 附件1 (100 of 100), item by
item as its comment says, and each case changes only the facts its reading is about.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from policy_dsl.runtime import InputRecord, Outcome, Pack, load_pack, outcome_json, score_batch

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"


def pack(name: str) -> Pack:
    return load_pack(name, packs_dir=GENERATED)


def score_all(pack_name: str, records: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Score a batch together; one output line (as JSON) per record, in order."""
    inputs = [InputRecord(i + 1, r.get("id"), r) for i, r in enumerate(records)]
    outcomes: list[Outcome] = score_batch(pack(pack_name), inputs)
    return [json.loads(json.dumps(outcome_json(o, explain=True))) for o in outcomes]


def score_one(pack_name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return score_all(pack_name, [record])[0]


def item(result: dict[str, Any], number: int) -> Decimal | None:
    assert result["error"] is None, result["error"]
    value = result["items"][str(number)]
    return None if value is None else Decimal(value)


def full_marks_inpatient(**changes: Any) -> dict[str, Any]:
    """A public tertiary hospital in DRG payment earning all 100 points of 附件1.

    1: 1+1+1 (share 85% ≥ 80%) = 3 · 2: 3 · 3: 100×20% = 20 · 4: 100×20% = 20 ·
    5: 1+2 = 3 · 6: 15 · 7: 1+1+1+2 (99% ≥ 98%) = 5 · 8: 2+3 = 5 ·
    9: 2 (60% ≥ 50%) + 2 + 1+1 (90% > 80%) + 2 = 8 · 10: 4 · 11: 2 ·
    12: 2 + survey (alone in a batch: rank 1, +1.0) = 3, clamped to 2 · 13: 3+2+2 = 7,
    clamped to 5 · 14: 5×1 = 5. Sum 100.
    """
    record: dict[str, Any] = {
        "id": "H",
        "level": "tertiary", "ownership": "public", "in_drg": True,
        "catalogue_updated_on_time": True, "catalogue_maintained_correctly": True,
        "catalogue_drug_share": "85",
        "price_violations": 0, "fee_disclosure_failures": 0, "late_self_pricing_notices": 0,
        "procurement_score": "100", "drg_score": "100",
        "negotiated_drug_rate": "70", "negotiated_drug_rate_last_year": "70",
        "negotiated_drug_meeting_held": True, "unstocked_products": [],
        "violations": [], "refused_to_correct": False, "serious_social_harm": False,
        "financial_system_in_place": True, "cooperates_with_fund_management": True,
        "no_new_receivables": True, "settlement_list_upload_rate": "99",
        "cooperation_incidents": 0,
        "coding_full_coverage": True, "nonstandard_code_rate": "0.5",
        "evoucher_settlements": 600, "all_settlements": 1000,
        "mobile_payment_connected": True, "dual_channel": True,
        "eprescription_connected": True, "eprescription_flow_rate": "90",
        "systems_integration_done": True,
        "care_violations": 0, "agreement_violations": 0,
        "complaints": [], "satisfaction_score": "90",
        "pay_later_connected": True, "pay_later_share_dec_2023": "6",
        "pay_later_share_2024": "12",
        "policies_forwarded": 5, "display_channels": [],
    }
    return _changed(record, changes)


def full_marks_outpatient(**changes: Any) -> dict[str, Any]:
    """A public clinic earning all 100 points of 附件2, given its peer group's averages.

    1: 2+2+2 (share 96% ≥ 95%) = 6 · 2: 5 · 3: 100×20% = 20 ·
    4: cost growth (110−100)/100 = 10% and visits-per-person growth (2.2−2)/2 = 10%,
    both not above the given peer averages of 10%: 4+4 = 8 · 5: 15 · 6: 2+2+2+2 = 8 ·
    7: 2+3 = 5 · 8: 2+2+2 (not dual-channel: e-prescription part in full)+2 = 8 ·
    9: 6 · 10: 6 · 11: 3 · 12: 3+2+2 = 7, clamped to 5 · 13: 3×1 + 4×0.5 = 5. Sum 100.
    """
    record: dict[str, Any] = {
        "id": "C",
        "ownership": "public", "peer_group": "社区卫生服务中心",
        "catalogue_updated_on_time": True, "catalogue_maintained_correctly": True,
        "catalogue_drug_share": "96",
        "price_violations": 0, "fee_disclosure_failures": 0, "late_self_pricing_notices": 0,
        "procurement_score": "100",
        "cost_per_visit": "110", "cost_per_visit_last_year": "100",
        "visits": 2200, "persons": 1000, "visits_last_year": 2000, "persons_last_year": 1000,
        "peer_cost_growth_given": "10", "peer_visits_growth_given": "10",
        "violations": [], "refused_to_correct": False, "serious_social_harm": False,
        "financial_system_in_place": True, "cooperates_with_fund_management": True,
        "no_new_receivables": True, "settlement_data_accurate": True,
        "cooperation_incidents": 0,
        "coding_full_coverage": True, "nonstandard_code_rate": "0",
        "evoucher_settlements": 50, "all_settlements": 100,
        "mobile_payment_connected": True, "dual_channel": False,
        "eprescription_connected": False, "systems_integration_done": True,
        "care_violations": 0, "agreement_violations": 0, "complaints": [],
        "pay_later_connected": True, "pay_later_share_dec_2023": "5",
        "pay_later_share_2024": "10",
        "policies_forwarded": 3, "display_channels": ["电子屏", "海报", "宣传材料", "其他有效方式"],
    }
    return _changed(record, changes)


def _changed(record: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    for key, value in changes.items():
        if value is DROP:
            record.pop(key, None)
        else:
            record[key] = copy.deepcopy(value)
    return record


class _Drop:
    def __repr__(self) -> str:
        return "DROP"


DROP: Any = _Drop()  # pass as a change to leave a fact out of the record
