"""TLS and SuperNode authentication on Flower 1.19.0: the key list is a file
the SuperLink reads at start (--auth-list-public-keys). The checks are shared
with the 1.42.0 host of the default scenario: tests/auth_checks.py."""

from auth_checks import *  # noqa: F403 - the shared tests and their fixture

testinfra_hosts = ["ansible://superlink"]
