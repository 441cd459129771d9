"""The auto-attendant (IVR) and conference rooms as media applications of the SIP plane (issue #16)."""
