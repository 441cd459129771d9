"""SQL storage of billing (RAT, CNT, BIL, CTR): ``store.SqlBillingStore`` implements the billing port
from one part per concept (plans, counts, CDRs, cost records and their dialect writers, invoiced
traffic, contracts, invoices) and the row codecs they share."""
