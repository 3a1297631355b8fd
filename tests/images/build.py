"""Build the images the tests need, offline: from Debian's mirror and PyPI only.

No container registry is reachable where the tests run, so this builds:

* systemd target hosts (``flower-iac/systemd-host:debian12`` / ``:debian13``)
  from debootstrap root filesystems;
* a stand-in for ``flwr/superlink:<version>`` built like the upstream image,
  saved as an image archive that the role loads through its air-gapped path.

Everything is cached: a root filesystem tarball per suite, the wheels per flwr
version, and images labelled with a hash of their inputs. A second run with
unchanged inputs does no work beyond a few ``docker image inspect`` calls.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = REPO / ".cache"
RELEASE_TABLE = REPO / "roles" / "flower_superlink" / "vars" / "flower_releases.yml"
LABEL = "org.flower-iac.build-key"

# Debian suite per target host tag.
HOST_SUITES = {"debian12": "bookworm", "debian13": "trixie"}
# sudo: the deploy playbook becomes root the way it does on real servers;
# iproute2: Ansible reads the host's addresses with `ip`, as on any server.
HOST_PACKAGES = ["python3", "systemd", "systemd-sysv", "ca-certificates", "sudo", "iproute2"]
# The SuperLink stand-in needs only an interpreter; keeping systemd out keeps
# the archive small, and every test host loads it.
SUPERLINK_SUITE = "bookworm"
SUPERLINK_PACKAGES = ["python3", "ca-certificates"]
# manylinux tags pip may pick for CPython 3.11 on x86_64 (bookworm's python3).
WHEEL_PLATFORMS = ["manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64"]


def log(msg: str) -> None:
    print(f"images: {msg}", flush=True)


def run(*cmd: str, quiet: bool = False, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; with ``quiet``, show its output only if it fails."""
    if quiet:
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs["stderr"] = subprocess.STDOUT
    try:
        return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]
    except subprocess.CalledProcessError as err:
        if quiet and err.stdout:
            print(err.stdout, file=sys.stderr)
        raise


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:16]


def image_key(ref: str) -> str | None:
    """The build key an existing image carries, or None if it does not exist."""
    res = subprocess.run(
        ["docker", "image", "inspect", "--format", f'{{{{index .Config.Labels "{LABEL}"}}}}', ref],
        capture_output=True,
        text=True,
    )
    return res.stdout.strip() if res.returncode == 0 else None


def image_id(ref: str) -> str:
    return run("docker", "image", "inspect", "--format", "{{.Id}}", ref, capture_output=True).stdout.strip()


def debian_mirror() -> str:
    """The mirror apt already uses on this machine (the only reachable one)."""
    for source in [*Path("/etc/apt/sources.list.d").glob("*.sources"), Path("/etc/apt/sources.list")]:
        if not source.is_file():
            continue
        text = source.read_text()
        m = re.search(r"^URIs:\s*(\S+/debian)/?\s*$", text, re.MULTILINE) or re.search(
            r"^deb\s+(?:\[[^]]*\]\s+)?(\S+/debian)/?\s", text, re.MULTILINE
        )
        if m:
            return m.group(1)
    return "http://deb.debian.org/debian"


def rootfs_image(suite: str, packages: list[str]) -> str:
    """Import a debootstrap root filesystem as an image; return its reference."""
    key = digest(suite, *packages)
    ref = f"flower-iac/rootfs:{suite}-{key}"
    if image_key(ref) == key:
        return ref
    tarball = CACHE / "rootfs" / f"{suite}-{key}.tar"
    if not tarball.exists():
        if not shutil.which("debootstrap"):
            sys.exit("images: debootstrap is missing (apt-get install debootstrap)")
        tarball.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=tarball.parent) as tmp:
            target = Path(tmp) / "root"
            log(f"debootstrap {suite} ({', '.join(packages)})")
            include = f"--include={','.join(packages)}"
            run("debootstrap", "--variant=minbase", include, suite, str(target), debian_mirror(), quiet=True)
            # apt lists and caches are dead weight in an image.
            for junk in ("var/lib/apt/lists", "var/cache/apt/archives"):
                for p in (target / junk).glob("*"):
                    if p.is_file():
                        p.unlink()
            partial = tarball.with_suffix(".partial")
            run("tar", "-C", str(target), "--numeric-owner", "-cf", str(partial), ".")
            partial.rename(tarball)
    log(f"import {ref}")
    with tarball.open("rb") as fh:
        run("docker", "import", "--change", f"LABEL {LABEL}={key}", "-", ref, stdin=fh, quiet=True)
    return ref


def build(ref: str, dockerfile: Path, context: Path, key: str, build_args: dict[str, str]) -> None:
    if image_key(ref) == key:
        log(f"{ref} is up to date")
        return
    log(f"build {ref}")
    args = [f"--build-arg={k}={v}" for k, v in build_args.items()]
    # The classic builder: it works with the engine alone (no buildx plugin).
    env = {**os.environ, "DOCKER_BUILDKIT": "0"}
    run(
        "docker",
        "build",
        "--label",
        f"{LABEL}={key}",
        "-t",
        ref,
        "-f",
        str(dockerfile),
        *args,
        str(context),
        quiet=True,
        env=env,
    )


def host_image(tag: str) -> str:
    base = rootfs_image(HOST_SUITES[tag], HOST_PACKAGES)
    dockerfile = HERE / "host.Dockerfile"
    ref = f"flower-iac/systemd-host:{tag}"
    key = digest(image_key(base) or "", dockerfile.read_bytes())
    with tempfile.TemporaryDirectory() as ctx:
        build(ref, dockerfile, Path(ctx), key, {"BASE_IMAGE": base})
    return ref


# What docker_engine installs per suite (roles/docker_engine/vars/), its Python
# libraries, python3-apt, and openssh-client for flower_supernode's keys.
DOCKER_PACKAGES = {
    "debian12": "docker.io python3-requests python3-apt openssh-client haproxy",
    "debian13": "docker.io docker-cli python3-requests python3-apt openssh-client haproxy",
}


def docker_host_image(tag: str) -> str:
    """``flower-iac/systemd-host:<tag>-docker``: the host with Debian's engine already installed."""
    base = host_image(tag)
    dockerfile = HERE / "host-docker.Dockerfile"
    ref = f"flower-iac/systemd-host:{tag}-docker"
    key = digest(image_key(base) or "", dockerfile.read_bytes(), DOCKER_PACKAGES[tag])
    with tempfile.TemporaryDirectory() as ctx:
        build(ref, dockerfile, Path(ctx), key, {"BASE_IMAGE": base, "PACKAGES": DOCKER_PACKAGES[tag]})
    return ref


# The federation scenario's registry host: Debian's CNCF distribution registry
# (docker-registry), htpasswd for its auth file, on the engine host (the
# harness pushes the stand-in images through that engine).
REGISTRY_PACKAGES = "docker-registry apache2-utils"


def registry_host_image() -> str:
    """``flower-iac/systemd-host:debian12-registry``: the engine host plus a registry."""
    base = docker_host_image("debian12")
    dockerfile = HERE / "host-docker.Dockerfile"
    ref = "flower-iac/systemd-host:debian12-registry"
    key = digest(image_key(base) or "", dockerfile.read_bytes(), REGISTRY_PACKAGES)
    with tempfile.TemporaryDirectory() as ctx:
        build(ref, dockerfile, Path(ctx), key, {"BASE_IMAGE": base, "PACKAGES": REGISTRY_PACKAGES})
    return ref


def wheels(version: str, lock: Path) -> Path:
    dest = CACHE / "wheels" / version
    marker = dest / ".lock-digest"
    want = digest(lock.read_bytes())
    if marker.is_file() and marker.read_text() == want:
        return dest
    log(f"download wheels for flwr {version}")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    platforms = [f"--platform={p}" for p in WHEEL_PLATFORMS]
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    run(*pip, "--python-version=3.11", *platforms, "--platform=any", "-d", str(dest), "-r", str(lock), quiet=True)
    shutil.copy(lock, dest / "requirements.txt")
    marker.write_text(want)
    return dest


def superlink_archive(version: str) -> Path:
    """Build the SuperLink stand-in and save it as ``flwr/superlink:<version>``."""
    lock = HERE / f"superlink-requirements-{version}.txt"
    if not lock.is_file():
        sys.exit(f"images: no wheel lock for flwr {version} ({lock.name})")
    base = rootfs_image(SUPERLINK_SUITE, SUPERLINK_PACKAGES)
    dockerfile = HERE / "superlink.Dockerfile"
    key = digest(image_key(base) or "", dockerfile.read_bytes(), lock.read_bytes())
    # Built under our own name so that a real flwr/superlink pulled from Docker
    # Hub on this machine is never shadowed; the upstream name exists only
    # inside the archive.
    build_ref = f"flower-iac/superlink:{version}"
    upstream_ref = f"flwr/superlink:{version}"
    archive = CACHE / "images" / f"flwr-superlink-{version}.tar"
    if image_key(build_ref) != key:
        with tempfile.TemporaryDirectory() as ctx:
            shutil.copytree(wheels(version, lock), Path(ctx) / "wheels")
            pip_wheel = next((Path(ctx) / "wheels").glob("pip-*.whl")).name
            build(build_ref, dockerfile, Path(ctx), key, {"BASE_IMAGE": base, "PIP_WHEEL": pip_wheel})
    return save(build_ref, upstream_ref, archive)


def save(build_ref: str, upstream_ref: str, archive: Path) -> Path:
    """``docker save`` a built image under its upstream name, unless the archive holds it already."""
    id_file = archive.with_suffix(".id")
    built = image_id(build_ref)
    if archive.is_file() and id_file.is_file() and id_file.read_text() == built:
        log(f"{archive.relative_to(REPO) if archive.is_relative_to(REPO) else archive} is up to date")
        return archive
    log(f"save {upstream_ref} to {archive}")
    archive.parent.mkdir(parents=True, exist_ok=True)
    had_upstream = image_key(upstream_ref) is not None and image_id(upstream_ref) != built
    if had_upstream:
        sys.exit(f"images: refusing to retag: a different {upstream_ref} exists in this engine")
    run("docker", "tag", build_ref, upstream_ref)
    try:
        partial = archive.with_suffix(".partial")
        run("docker", "save", "-o", str(partial), upstream_ref)
        partial.rename(archive)
    finally:
        run("docker", "rmi", upstream_ref, quiet=True)
    id_file.write_text(built)
    return archive


def supernode_archive(version: str) -> Path:
    """The SuperNode stand-in, ``flwr/supernode:<version>``: the SuperLink stand-in's
    venv (flwr and the test app's numpy) with flower-supernode as entrypoint, as
    Flower's own images share one base."""
    superlink_archive(version)
    base = f"flower-iac/superlink:{version}"
    dockerfile = HERE / "supernode.Dockerfile"
    pip_wheel = next(wheels(version, HERE / f"superlink-requirements-{version}.txt").glob("pip-*.whl"))
    key = digest(image_key(base) or "", dockerfile.read_bytes(), pip_wheel.name)
    build_ref = f"flower-iac/supernode:{version}"
    with tempfile.TemporaryDirectory() as ctx:
        (Path(ctx) / "wheels").mkdir()
        shutil.copy(pip_wheel, Path(ctx) / "wheels")
        build(build_ref, dockerfile, Path(ctx), key, {"BASE_IMAGE": base})
    return save(build_ref, f"flwr/supernode:{version}", CACHE / "images" / f"flwr-supernode-{version}.tar")


# A ClientApp dependency the stand-in images lack, as wheels on the controller:
# the federation scenario has one SuperNode build its image with it, offline
# (flower_supernode_app_requirements / _app_wheels_dir).
APP_REQUIREMENTS = ["iniconfig==2.0.0"]


def app_wheels() -> Path:
    dest = CACHE / "wheels" / "app"
    marker = dest / ".requirements"
    want = "\n".join(APP_REQUIREMENTS)
    if marker.is_file() and marker.read_text() == want:
        return dest
    log(f"download app wheels {', '.join(APP_REQUIREMENTS)}")
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    pip = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:"]
    run(*pip, "--python-version=3.11", "--platform=any", "-d", str(dest), *APP_REQUIREMENTS, quiet=True)
    marker.write_text(want)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", nargs="*", default=sorted(HOST_SUITES), choices=sorted(HOST_SUITES))
    # The tested releases, from the release table: 1.19.0 is the role's
    # default, 1.20.0 shares its schema, 1.25.0 is the last release before
    # Alembic, 1.42.0 the current one.
    table = yaml.safe_load(RELEASE_TABLE.read_text())
    parser.add_argument("--flwr-versions", nargs="*", default=table["_flower_superlink_tested_releases"])
    # SuperNodes run in the federation scenarios: the oldest release and the newest.
    parser.add_argument(
        "--supernode-versions",
        nargs="*",
        default=[table["_flower_superlink_oldest_release"], table["_flower_superlink_newest_release"]],
    )
    opts = parser.parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    # One build at a time (CI starts one beside the checks, then Molecule's
    # own): the second waits for the first, then finds everything up to date.
    with (CACHE / "images.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        build_all(opts)
    log("ready")


def build_all(opts: argparse.Namespace) -> None:
    # debootstrap is network-bound, so the independent builds overlap well.
    # The SuperLink versions share one base root filesystem: built in turn.
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [pool.submit(docker_host_image, tag) for tag in opts.hosts if tag != "debian12"]
        if "debian12" in opts.hosts:
            jobs.append(pool.submit(registry_host_image))  # builds the debian12 engine host first
        jobs.append(
            pool.submit(
                lambda: (
                    [superlink_archive(v) for v in opts.flwr_versions]
                    + [supernode_archive(v) for v in opts.supernode_versions]
                    + [app_wheels()]
                )
            )
        )
        for job in jobs:
            job.result()


if __name__ == "__main__":
    main()
