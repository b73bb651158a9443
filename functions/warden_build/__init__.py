"""Build-time tools (not bundled into any Lambda): they produce committed artifacts such as the fast tier model."""
