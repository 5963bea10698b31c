"""Feature engineering for python_features: an ironmage `command` block.

ironmage hands the upstream table over as CSV (path in IRONMAGE_INPUT_LOAD), the block's
params as IRONMAGE_VAR_<NAME> and a JSON file (IRONMAGE_PARAMS), and reads back the CSV
written at IRONMAGE_OUTPUT. Standard library only.
"""
import csv
import json
import os
import sys


def number(text):
    return float(text) if text not in ("", "NA") else None


def main():
    params = json.load(open(os.environ["IRONMAGE_PARAMS"]))
    weight = float(os.environ.get("IRONMAGE_VAR_CALLS_WEIGHT", params.get("calls_weight", 1.0)))
    with open(os.environ["IRONMAGE_INPUT_LOAD"], newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        print("no input rows", file=sys.stderr)
        return 1
    for row in rows:
        age = number(row["account_age"])
        total = number(row["total_charges"])
        calls = number(row["customer_service_calls"])
        tickets = number(row["support_tickets"])
        satisfaction = number(row["satisfaction_score"])
        row["charges_per_month"] = "" if total is None or not age else round(total / age, 4)
        row["complaints"] = weight * calls + tickets
        row["unhappy_caller"] = "" if satisfaction is None else int(calls >= 3 and satisfaction < 0.4)
    with open(os.environ["IRONMAGE_OUTPUT"], "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows with 3 new features (calls weight {weight})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
