"""Certificate profiles and issuance shared by the Pki component, the offline mocks and the local data plane."""
