"""Portal security: the second factor (TOTP, recovery codes), password resets by e-mail, the audit log.

* ``ports``: what these keep in storage (:class:`SecurityStore`) and its records;
* ``second_factor``: RFC 6238 codes, enrolment, verification (a used code never works twice);
* ``resets``: single-use, expiring, hashed password-reset tokens;
* ``audit_log``: who changed what, when and from where, and who may read it.
"""
