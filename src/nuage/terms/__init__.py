"""Rules computed from the terms, each in one named place citing its rule ID."""
