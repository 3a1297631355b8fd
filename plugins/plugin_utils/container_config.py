"""The rules for a role that runs a Flower image in a container.

flower_superlink and flower_supernode each run one: the image reference
(release, tag, repository, digest, where it comes from), the registry it is
pulled from, and the extra ``docker run`` options an operator may add
without undoing the container's isolation. The release must be one the
release table knows, unless the operator asks to try another.
"""

from __future__ import annotations

import re

from ansible_collections.flower_iac.federation.plugins.plugin_utils.releases import Version, releases
from ansible_collections.flower_iac.federation.plugins.plugin_utils.validation import CONTROL_RE, Checker

# An image reference: the release (X.Y.Z), tag, repository (a registry's host
# and port first, optionally) and digest; Docker's image ID is a digest too.
# The registry an operator logs in to: a host, optionally with a scheme and port.
VERSION_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+([.-]?[A-Za-z0-9.]+)?\Z")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
REPOSITORY_RE = re.compile(r"([a-z0-9.-]+(:[0-9]{1,5})?/)?[a-z0-9]+([._-][a-z0-9]+)*(/[a-z0-9]+([._-][a-z0-9]+)*)*\Z")
DIGEST_RE = re.compile(r"sha256:[a-f0-9]{64}\Z")
IMAGE_ID_RE = DIGEST_RE
REGISTRY_RE = re.compile(r"([a-z][a-z0-9+.-]*://)?[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._/-]*)?\Z")

# Extra `docker run` options that cannot undo the role's isolation. Anything
# else (--privileged, --cap-add, --volume, --user, --network host, ...) would.
DOCKER_RUN_ALLOWED = {
    "--add-host",
    "--cpu-shares",
    "--cpus",
    "--dns",
    "--dns-option",
    "--dns-search",
    "--label",
    "--log-driver",
    "--log-opt",
    "--memory-reservation",
    "--memory-swap",
    "--shm-size",
    "--stop-signal",
    "--ulimit",
}
# Where the Flower apps run: in a container of their own, or as children of Flower.
ISOLATION_MODES = ("process", "subprocess")


class ContainerChecker(Checker):
    """Checker with the rules of a role's Flower image."""

    def image(self) -> None:
        checks = [
            ("version", VERSION_RE, "want X.Y.Z, such as 1.19.0"),
            ("image_tag", TAG_RE, "a Docker tag: letters, digits, _ . -, at most 128"),
            ("image_repository", REPOSITORY_RE, "such as flwr/superlink or registry.example.org:5000/flwr/superlink"),
        ]
        for name, regex, fix in checks:
            value = self.v(name)
            if isinstance(value, str) and not regex.match(value):
                self.err(name, "is not valid", fix)
        version = self.v("version")
        if isinstance(version, str) and VERSION_RE.match(version) and not self.as_flag("allow_untested_version"):
            table = releases()
            if not table["oldest"] <= Version(version) <= table["newest"]:
                self.err(
                    "version",
                    f"is outside the releases this role knows ({table['oldest']} to {table['newest']}; "
                    f"tested: {', '.join(table['tested'])})",
                    f"pick one of those, or set {self.prefix}allow_untested_version=true to try it "
                    "(the health gate still decides, and a failed upgrade is rolled back)",
                )
        digest = self.v("image_digest")
        if isinstance(digest, str) and digest and not DIGEST_RE.match(digest):
            self.err("image_digest", "must be empty or sha256:<64 lowercase hex digits>")
        if self.v("image_source") not in ("pull", "archive"):
            self.err("image_source", "must be pull or archive")
        if self.v("image_source") == "archive":
            if not self.v("image_archive"):
                self.err("image_archive", f"is required with {self.prefix}image_source=archive (a `docker save` file)")
            if digest:
                self.err("image_digest", "cannot be combined with the archive source (loaded images carry no digest)")
        url = self.v("registry_url")
        if isinstance(url, str) and url and not REGISTRY_RE.match(url):
            self.err("registry_url", "is not a registry address", "such as registry.example.org:5000")
        user = self.v("registry_username")
        if isinstance(user, str) and (CONTROL_RE.search(user) or " " in user):
            self.err("registry_username", "may not contain spaces or control characters")
