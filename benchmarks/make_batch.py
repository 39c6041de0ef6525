"""Write a synthetic batch of institutions for timing `policyc score` (not policy data).

    python benchmarks/make_batch.py 100000 > /tmp/batch.jsonl
    policyc score --pack suzhou/inpatient-2023 /tmp/batch.jsonl -o /dev/null

The records vary deterministically (a fixed seed) over every rule's branches: levels,
ownership, DRG, shares around the thresholds, violations, complaints and survey scores.
"""

from __future__ import annotations

import json
import random
import sys


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


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(2023)
    out = sys.stdout
    for index in range(count):
        out.write(json.dumps(record(index, rng)) + "\n")


if __name__ == "__main__":
    main()
