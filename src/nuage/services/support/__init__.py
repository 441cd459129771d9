"""Support use cases: tickets (SUP-1, SUP-2), interventions (BIL-5), hardware and returns (HW-1),
porting out (BIL-7) and the Telavox UCaaS resale (BIL-8)."""
