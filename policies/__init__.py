"""Stack policies for the prices-api program.

`policies.rules` holds the rules as plain functions (tested offline); `policies/__main__.py` is the
CrossGuard entry point for `pulumi up --policy-pack policies`. Never import `policies.__main__` in tests:
constructing a PolicyPack starts a gRPC server and blocks.
"""
