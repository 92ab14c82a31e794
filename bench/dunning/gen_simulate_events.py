#!/usr/bin/env python3
"""Events for the one-year `relanced simulate` benchmark (bench/dunning/simulate_year.sh).

Writes JSON lines (CloudEvents) to stdout: CUSTOMERS customer.upserted on 2025-01-01 (email,
language fr/en, timezone Europe/Paris, Europe/London or America/New_York), INVOICES
invoice.issued spread over 2025 (net 30), and a payment.received (allocated to its invoice) for
about 60% of them, from 10 days before the due date to 90 days after. Seeded: same output each run.
"""
import datetime as dt
import json
import random
import sys

invoices = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
customers = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
rng = random.Random(4)
zones = ["Europe/Paris", "Europe/London", "America/New_York"]
year = dt.date(2025, 1, 1)
out = sys.stdout
dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def event(kind, eid, when, data):
    out.write(dumps({"specversion": "1.0", "id": eid, "source": "erp/bench", "type": kind,
                     "time": when, "data": data}) + "\n")


for c in range(customers):
    language = "fr" if c % 3 != 1 else "en"
    event("customer.upserted", f"c-{c}", "2025-01-01T00:00:00Z",
          {"customer_id": f"C-{c}", "name": f"Client {c}", "emails": [f"compta{c}@client{c}.example"],
           "language": language, "timezone": zones[c % 3]})

for i in range(invoices):
    issue = year + dt.timedelta(days=rng.randrange(365))
    due = issue + dt.timedelta(days=30)
    cents = rng.randrange(5_000, 2_000_000)
    amount = {"amount": f"{cents // 100}.{cents % 100:02d}", "currency": "EUR"}
    customer = f"C-{rng.randrange(customers)}"
    event("invoice.issued", f"i-{i}", f"{issue.isoformat()}T{8 + rng.randrange(10):02d}:00:00Z",
          {"invoice_id": f"INV-{i}", "customer_id": customer, "amount": amount,
           "issue_date": issue.isoformat(), "due_date": due.isoformat(), "number": f"F-2025-{i:06d}"})
    if rng.random() < 0.6:
        paid = due + dt.timedelta(days=rng.randrange(-10, 91))
        if paid < issue:
            paid = issue
        event("payment.received", f"p-{i}", f"{paid.isoformat()}T{7 + rng.randrange(12):02d}:30:00Z",
              {"payment_id": f"PAY-{i}", "customer_id": customer, "amount": amount,
               "received_date": paid.isoformat(),
               "allocations": [{"invoice_id": f"INV-{i}", "amount": amount}]})
