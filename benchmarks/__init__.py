"""`make bench`: Warden's performance figures, measured rather than asserted."""
