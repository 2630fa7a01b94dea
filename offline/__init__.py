"""Offline mock runtime for the Pulumi program: recording mocks, a program runner and the plan CLI.

Nothing here talks to a cloud, a Pulumi CLI or a provider plugin; everything runs under
`pulumi.runtime.set_mocks`.
"""
