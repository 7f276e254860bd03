"""Default tier definitions (``*.toml``), packaged as ``evalgate.default_tiers``.

A project's own ``tiers/`` folder overrides them by file name.
"""
