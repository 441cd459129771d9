"""The B2BUA: call legs as state machines joined by a controller, one module per concern.

- ``admission``: an initial INVITE checked, its caller identified, what was dialled resolved.
- ``features``: feature codes dialled on a phone (CFG-13 hot-desk log in and out); ``forwarding``
  and ``pickup``: call forwarding and do-not-disturb codes, call pickup (issue #15).
- ``hunt``: what a call rings next, through forwards and ring groups; ``forward_legs``: a call
  forwarded outside the platform as a call of the forwarding account (CAP-3, SIP-2, its CDR).
- ``apps``: media applications, calls Nuage answers itself (play, collect digits, record): the
  runtime voicemail, IVRs and conferences are written on.
- ``controller``: one call's state machine: the policy's answer, hunting over its routes,
  the call's timers (no-answer, max duration, RFC 4028 session) and its one CDR.
- ``targets``: where a route rings (a user's devices, a trunk, the carrier).
- ``identity``: From, To, P-Asserted-Identity and Privacy towards the callee (SIP-2, EMG-2).
- ``relay``: in-dialog requests passed between the legs (re-INVITE, UPDATE, INFO).
- ``transfer``, ``refer``, ``bridge``: call transfer (REFER, Replaces), acted on by the B2BUA.
- ``legs`` (what both legs share, the caller's leg) and ``callee`` (the forking callee leg);
  the controller reaches legs only through their public methods.
- ``services``: what a call needs from the server; ``events``, ``states``: what legs and the
  controller exchange, and their states.
"""
