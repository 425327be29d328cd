"""The demo's Python code: bronze assets, the maintenance and alert functions, and their shared warehouse access.

floe imports ``assets.bronze`` and ``assets.ops`` separately (``asset_modules`` in ``floe.yaml``), so this
package imports nothing itself.
"""
