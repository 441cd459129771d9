"""CFG: what a customer account is made of — users, devices, rooms, numbers, trunks and more."""
