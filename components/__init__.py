"""Pulumi ComponentResources of the Prices API, one concern per module (type tokens `prices:<module>:<Type>`)."""
