"""Write a synthetic batch of clinics for Suzhou 附件2 (suzhou/outpatient-2023; not policy data).

    python benchmarks/make_outpatient_batch.py 600 > /tmp/outpatient.jsonl
    policyc score --pack suzhou/outpatient-2023 /tmp/outpatient.jsonl > /tmp/scores.jsonl

The records vary deterministically (a fixed seed) over every item's branches: ownership, peer
groups, shares around the thresholds, violations and their documents, dual-channel and
e-prescription flow, complaints, the bonus items; about 3% each have an unreadable non-standard
code rate or no violations list, so the errors are compared too. Used to check that 附件2
taking its shared items from 附件1 scores every clinic as 附件2 written out did.
"""

from __future__ import annotations

import json
import random
import sys

DOCUMENTS = ["correction_notice", "loss_penalty", "loss_return_only", "fraud_penalty",
             "fraud_return_only", "judicial_referral"]
CHANNELS = ["e_screen", "poster", "leaflet", "other"]


def percent(rng: random.Random) -> str:
    return str(rng.randint(0, 1000) / 10)


def record(index: int, rng: random.Random) -> dict[str, object]:
    dual = rng.random() < 0.5
    pay_later = rng.random() < 0.5
    row: dict[str, object] = {
        "id": f"O{index:05d}",
        "ownership": rng.choice(["public", "private"]),
        "peer_group": rng.choice(["a", "b", "c"]),
        "catalogue_updated_on_time": rng.random() < 0.8,
        "catalogue_maintained_correctly": rng.random() < 0.8,
        "catalogue_drug_share": percent(rng),
        "price_violations": rng.randint(0, 3),
        "fee_disclosure_failures": rng.randint(0, 3),
        "late_self_pricing_notices": rng.randint(0, 2),
        "cost_per_visit": str(rng.randint(100, 400)),
        "cost_per_visit_last_year": str(rng.randint(100, 400)),
        "visits": rng.randint(1000, 5000),
        "persons": rng.randint(500, 1000),
        "visits_last_year": rng.randint(1000, 5000),
        "persons_last_year": rng.randint(500, 1000),
        "violations": [{"documents": rng.sample(DOCUMENTS, rng.randint(1, 3))}
                       for _ in range(rng.choice([0, 0, 1, 2, 3]))],
        "refused_to_correct": rng.random() < 0.05,
        "serious_social_harm": rng.random() < 0.05,
        "financial_system_in_place": rng.random() < 0.8,
        "cooperates_with_fund_management": rng.random() < 0.8,
        "no_new_receivables": rng.random() < 0.8,
        "settlement_data_accurate": rng.random() < 0.8,
        "cooperation_incidents": rng.randint(0, 3),
        "coding_full_coverage": rng.random() < 0.8,
        "nonstandard_code_rate": str(rng.randint(0, 30) / 10),
        "evoucher_settlements": rng.randint(0, 100),
        "all_settlements": rng.randint(100, 200),
        "mobile_payment_connected": rng.random() < 0.8,
        "dual_channel": dual,
        "systems_integration_done": rng.random() < 0.8,
        "care_violations": rng.randint(0, 3),
        "agreement_violations": rng.choice([0, 0, 0, 1]),
        "complaints": [{"deduction": rng.choice(["0", "0.5", "1"])}
                       for _ in range(rng.randint(0, 2))],
        "pay_later_connected": pay_later,
        "policies_forwarded": rng.randint(0, 4),
        "display_channels": rng.sample(CHANNELS, rng.randint(0, 4)),
    }
    if row["ownership"] == "public" or rng.random() < 0.3:
        row["procurement_score"] = str(rng.randint(40, 100))
    if rng.random() < 0.3:
        row["fund_loss_amount"] = str(rng.randint(0, 100_000))
        row["region_fund_expenditure_last_year"] = str(rng.randint(10**6, 10**8))
    if dual:
        connected = rng.random() < 0.6
        row["eprescription_connected"] = connected
        if connected:
            row["eprescription_flow_rate"] = percent(rng)
    if pay_later:
        row["pay_later_share_dec_2023"] = str(rng.randint(0, 100) / 10)
        row["pay_later_share_2024"] = str(rng.randint(0, 200) / 10)
    if rng.random() < 0.03:
        row["nonstandard_code_rate"] = "abc"
    if rng.random() < 0.03:
        del row["violations"]
    return row


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    rng = random.Random(7)
    for index in range(count):
        print(json.dumps(record(index, rng), ensure_ascii=False))


if __name__ == "__main__":
    main()
