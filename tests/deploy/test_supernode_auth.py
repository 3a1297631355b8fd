"""TLS and SuperNode authentication on Flower 1.42.0: the keys are registered
through the Control API (the RPCs behind `flwr supernode register`), and a
SuperNode whose key is not registered cannot activate. The checks are shared
with the 1.19.0 hardening host: tests/auth_checks.py."""

from auth_checks import *  # noqa: F403 - the shared tests and their fixture

# The default scenario's host with TLS and keys (molecule/default/molecule.yml).
testinfra_hosts = ["ansible://flower-deploy-debian13"]
