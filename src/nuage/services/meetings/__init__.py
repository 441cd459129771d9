"""Web Meeting (MTG-1, BIL-6): meeting rooms ordered, invoiced at order, opened once paid, run on a
WebRTC gateway reached through ``ports.MeetingGateway``."""
