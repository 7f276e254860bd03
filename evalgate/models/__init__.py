"""Model adapters: one module per kind, all behind :class:`~evalgate.models.base.ModelAdapter`."""
