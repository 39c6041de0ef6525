"""Write a synthetic batch of institutions for timing `policyc score` (not policy data).

    python benchmarks/make_batch.py 100000 > /tmp/batch.jsonl
    python benchmarks/make_batch.py --jilin 2500 > /tmp/jilin.jsonl   # under the framework
    policyc score --pack suzhou/inpatient-2023 /tmp/batch.jsonl -o /dev/null

The records vary deterministically (a fixed seed) over every rule's branches: levels,
ownership, DRG, shares around the thresholds, violations, complaints and survey scores.
"""

from __future__ import annotations

import json
import random
import sys
from typing import Any


def record(index: int, rng: random.Random) -> dict[str, object]:
    public = rng.random() < 0.7
    in_drg = rng.random() < 0.6
    dual = rng.random() < 0.3
    connected = rng.random() < 0.5
    pay_later = rng.random() < 0.5
    row: dict[str, object] = {
        "id": f"B{index:07d}",
        "level": rng.choice(["tertiary", "secondary", "primary"]),
        "ownership": "public" if public else "private",
        "in_drg": in_drg,
        "catalogue_updated_on_time": rng.random() < 0.9,
        "catalogue_maintained_correctly": rng.random() < 0.9,
        "catalogue_drug_share": f"{rng.uniform(60, 100):.2f}",
        "price_violations": rng.choice([0, 0, 0, 1, 2]),
        "fee_disclosure_failures": rng.choice([0, 0, 1]),
        "late_self_pricing_notices": rng.choice([0, 0, 1]),
        "negotiated_drug_rate": f"{rng.uniform(50, 90):.1f}",
        "negotiated_drug_rate_last_year": f"{rng.uniform(50, 90):.1f}",
        "negotiated_drug_meeting_held": rng.random() < 0.8,
        "unstocked_products": [{"cases": rng.choice([1, 2])} for _ in range(rng.choice([0, 0, 1]))],
        "violations": [{"documents": rng.sample(["correction_notice", "loss_penalty",
                                                 "loss_return_only", "fraud_penalty"], 2)}
                       for _ in range(rng.choice([0, 0, 0, 1, 2]))],
        "refused_to_correct": rng.random() < 0.02,
        "serious_social_harm": rng.random() < 0.01,
        "fund_loss_amount": f"{rng.uniform(0, 2_000_000):.2f}",
        "region_fund_expenditure_last_year": "1500000000",
        "financial_system_in_place": rng.random() < 0.9,
        "cooperates_with_fund_management": rng.random() < 0.9,
        "no_new_receivables": rng.random() < 0.9,
        "settlement_list_upload_rate": f"{rng.uniform(75, 100):.2f}",
        "cooperation_incidents": rng.choice([0, 0, 1]),
        "coding_full_coverage": rng.random() < 0.9,
        "nonstandard_code_rate": f"{rng.uniform(0, 2):.2f}",
        "evoucher_settlements": rng.randint(0, 9000),
        "all_settlements": 10000,
        "mobile_payment_connected": rng.random() < 0.8,
        "dual_channel": dual,
        "eprescription_connected": connected,
        "systems_integration_done": rng.random() < 0.9,
        "care_violations": rng.choice([0, 0, 1, 2]),
        "agreement_violations": rng.choice([0, 0, 0, 1]),
        "complaints": [{"deduction": rng.choice(["0.5", "1"])} for _ in range(rng.choice([0, 1]))],
        "satisfaction_score": f"{rng.uniform(60, 100):.1f}",
        "pay_later_connected": pay_later,
        "policies_forwarded": rng.randint(0, 5),
        "display_channels": rng.sample(["e_screen", "poster", "leaflet", "other"],
                                       rng.randint(0, 4)),
    }
    if public:
        row["procurement_score"] = f"{rng.uniform(60, 100):.1f}"
    if in_drg:
        row["drg_score"] = f"{rng.uniform(60, 100):.1f}"
    if dual and connected:
        row["eprescription_flow_rate"] = f"{rng.uniform(30, 100):.1f}"
    if pay_later:
        row["pay_later_share_dec_2023"] = f"{rng.uniform(0, 10):.1f}"
        row["pay_later_share_2024"] = f"{rng.uniform(0, 15):.1f}"
    return row


def jilin_batch(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Jilin institutions over every branch of the framework (deterministic, not policy):
    the batch of the report's tests and of the report's screenshot (docs/screenshots.py).
    Record 8 (JB00007) has an input error, which the report counts."""
    rng = random.Random(seed)
    grades = ["优", "良", "合格", "基本合格", "不合格"]
    rows = []
    for index in range(count):
        deductions = [{"item": "1", "points": f"{rng.choice([0, 0.5, 1, 2.5, 5, 10, 20, 35])}",
                       "evidence": f"考核记录 {index}-{n}"} for n in range(rng.randint(0, 3))]
        bonuses = [{"item": "2", "points": f"{rng.choice([0.5, 1, 2])}",
                    "evidence": f"截图 {index}"}] if rng.random() < 0.3 else []
        row: dict[str, Any] = {
            "id": f"JB{index:05d}", "name": f"批量机构{index}", "assessment_year": 2026,
            "agreement_start": rng.choice(["2015-01-01", "2020-05-01", "2026-09-01"]),
            "deposit": str(rng.choice([100000, 200000, 350000, 500000])),
            "deductions": deductions, "bonuses": bonuses,
            "previous_grade": rng.choice([None, *grades]),
        }
        if rng.random() < 0.2:
            row["subordinate_scores"] = [f"{rng.uniform(60, 100):.1f}" for _ in range(2)]
        if rng.random() < 0.05:
            row["opinion_events"] = [rng.choice(["national", "provincial"])]
        if rng.random() < 0.02:
            row["veto"] = True
        if rng.random() < 0.03:
            row["fraud_clues"] = True
        if rng.random() < 0.03:
            row.update(status="voluntary_exit", violations_found=rng.random() < 0.5)
        elif rng.random() < 0.02:
            row["status"] = "terminated"
        if row["previous_grade"] is None:
            del row["previous_grade"]
        rows.append(row)
    rows[7]["deposit"] = "not money"  # one input error, which the report counts
    return rows


def main() -> None:
    jilin = "--jilin" in sys.argv[1:]
    numbers = [a for a in sys.argv[1:] if a != "--jilin"]
    count = int(numbers[0]) if numbers else 10_000
    out = sys.stdout
    if jilin:
        for row in jilin_batch(count):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    rng = random.Random(2023)
    for index in range(count):
        out.write(json.dumps(record(index, rng)) + "\n")


if __name__ == "__main__":
    main()
