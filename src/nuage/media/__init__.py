"""The embedded media engine: RTP/RTCP, G.711, RFC 4733 events, relay, player, recorder (issue #15).

It implements ``nuage.sip.media.MediaPort`` on asyncio; it knows nothing of SIP dialogs or storage.
"""
