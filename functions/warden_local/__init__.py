"""The local stack: the same handlers, with moto's server as AWS (not part of any Lambda bundle)."""
