"""Voicemail on the SIP plane (issue #16): leaving and hearing messages, and message waiting.

- ``ports``: what the SIP plane needs from the platform's voicemail (boxes, messages, PINs,
  prompts), implemented by ``nuage.adapters.voicemail`` and ``nuage.media.prompts``.
- ``apps``: the deposit and retrieval media applications (``nuage.sip.b2bua.apps``) and the
  feature codes that start them (``*98<number>`` to leave a message, ``*97`` to listen).
- ``mwi``: SUBSCRIBE/NOTIFY ``message-summary`` (RFC 3842) for the users' phones.
"""
