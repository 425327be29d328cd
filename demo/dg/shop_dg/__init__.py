"""The demo as a dg project: ``defs/shop/defs.yaml`` loads ``demo/floe.yaml`` as a ``FloeComponent``."""
