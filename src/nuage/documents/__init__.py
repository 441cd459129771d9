"""Invoice documents (BIL-4, BIL-10, TEN-2): PDF and Peppol BIS 3 e-invoice, in EN/FR/NL."""
