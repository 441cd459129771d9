"""The B2BUA: call legs as state machines joined by a controller."""
