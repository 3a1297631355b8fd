"""The collection as an operator installs it: built, installed into an empty
project, its playbooks run by name. No host: each run ends at the first
validation, on the controller, which proves the wiring (roles, filters and
modules found by their full names) without Docker.

The clone's way (ansible-playbook playbooks/deploy.yml from the repository)
is what every Molecule scenario runs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((ROOT / "galaxy.yml").read_text())
FQCN = f"{GALAXY['namespace']}.{GALAXY['name']}"
PLAYBOOKS = sorted(p.stem for p in (ROOT / "playbooks").glob("*.yml"))
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py"))
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir())
# The harness stays in the repository; an operator's project gets none of it.
NOT_SHIPPED = [
    ".ci/",
    ".collections/",
    ".config/",
    "molecule/",
    "tests/",
    "inventories/",
    "noxfile.py",
    "ansible.cfg",
    "requirements.txt",
    "constraints.txt",
    "pyproject.toml",
    "docs/testing.md",
    "docs/benchmarks.md",
    "docs/history/",
]


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False)


def project_env(project: Path) -> dict[str, str]:
    """An operator's empty project: no ansible.cfg of ours, collections in ./collections."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env['PATH']}",
        ANSIBLE_COLLECTIONS_PATH=str(project / "collections"),
        ANSIBLE_LOCAL_TEMP=str(project / ".tmp"),
        ANSIBLE_HOME=str(project / ".ansible"),
        ANSIBLE_NOCOLOR="1",
    )
    return env


@pytest.fixture(scope="module")
def tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("build")
    env = project_env(out)
    built = run(str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), cwd=ROOT, env=env)
    assert built.returncode == 0, built.stdout + built.stderr
    (archive,) = out.glob("*.tar.gz")
    return archive


def install(project: Path, source: str) -> Path:
    """Install ``source`` the way the README says; return the collection's directory."""
    project.mkdir(exist_ok=True)
    done = run(
        str(BIN / "ansible-galaxy"),
        "collection",
        "install",
        "-p",
        "collections",
        source,
        cwd=project,
        env=project_env(project),
    )
    assert done.returncode == 0, done.stdout + done.stderr
    path = project / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert (path / "MANIFEST.json").is_file()
    return path


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory, tarball: Path) -> Path:
    project = tmp_path_factory.mktemp("project")
    install(project, str(tarball))
    (project / "inventory").mkdir()
    # A SuperLink on the controller itself, reached without SSH: nothing in
    # these runs gets past validation, which needs no connection at all.
    (project / "inventory" / "hosts.ini").write_text(
        f"[superlink]\nsl1 ansible_connection=local ansible_python_interpreter={sys.executable}\n"
    )
    return project


def test_the_tarball_holds_the_collection_and_none_of_the_harness(tarball: Path) -> None:
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    shipped = set(names)
    assert {"MANIFEST.json", "FILES.json", "meta/runtime.yml", "README.md"} <= shipped
    assert {f"playbooks/{p}.yml" for p in PLAYBOOKS} <= shipped
    assert {f"plugins/modules/{m}.py" for m in MODULES} <= shipped
    assert {f"roles/{r}/meta/argument_specs.yml" for r in ROLES} <= shipped
    leaked = [n for n in names for prefix in NOT_SHIPPED if n == prefix.rstrip("/") or n.startswith(prefix)]
    assert leaked == []
    # No symlinks: a link inside a collection points nowhere once installed.
    with tarfile.open(tarball) as tar:
        assert [m.name for m in tar.getmembers() if m.issym() or m.islnk()] == []


def test_requires_ansible_names_the_tested_ansible_core() -> None:
    """meta/runtime.yml's range holds the ansible-core the toolchain pins."""
    pinned = next(
        line.split("==")[1]
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if line.startswith("ansible-core==")
    )
    wanted = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())["requires_ansible"]
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements

    assert meets_requirements(pinned, wanted)


def test_the_changelog_holds_galaxy_ymls_version_as_its_newest_release() -> None:
    """antsibull-changelog's record (changelogs/changelog.yaml, which CHANGELOG.md
    is generated from) names the version the collection is built as."""
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements

    releases = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())["releases"]
    assert GALAXY["version"] in releases
    assert all(meets_requirements(str(v), f"<={GALAXY['version']}") for v in releases)


# Each Ansible process costs most of a second of CPU before it does anything:
# the playbooks are checked, and the modules' docs shown, by one process each.
# A broken one then fails every row of its test, each with Ansible's error,
# which names it.
@pytest.fixture(scope="module")
def syntax_checked(installed: Path) -> subprocess.CompletedProcess[str]:
    playbooks = [f"{FQCN}.{p}" for p in PLAYBOOKS]
    return run(
        str(BIN / "ansible-playbook"),
        *playbooks,
        "-i",
        "inventory",
        "--syntax-check",
        cwd=installed,
        env=project_env(installed),
    )


@pytest.fixture(scope="module")
def module_docs(installed: Path) -> tuple[dict[str, str], subprocess.CompletedProcess[str]]:
    """Each module's part of ansible-doc's output, by full name; ansible-doc only
    warns of a module it cannot show and goes on, so a part may be missing."""
    shown = run(str(BIN / "ansible-doc"), *[f"{FQCN}.{m}" for m in MODULES], cwd=installed, env=project_env(installed))
    parts = re.split(r"^(?=> MODULE )", shown.stdout, flags=re.MULTILINE)
    return {part.split()[2]: part for part in parts if part.startswith("> MODULE ")}, shown


@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_every_playbook_runs_by_its_full_name(
    installed: Path, syntax_checked: subprocess.CompletedProcess[str], playbook: str
) -> None:
    assert syntax_checked.returncode == 0, syntax_checked.stdout + syntax_checked.stderr
    collection = installed / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    assert f"playbook: {collection / 'playbooks' / playbook}.yml" in syntax_checked.stdout.splitlines()


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_every_module(
    module_docs: tuple[dict[str, str], subprocess.CompletedProcess[str]], module: str
) -> None:
    parts, shown = module_docs
    assert shown.returncode == 0, shown.stderr
    assert f"{FQCN}.{module}" in parts, shown.stderr
    assert "OPTIONS" in parts[f"{FQCN}.{module}"]


@pytest.mark.parametrize("role", ROLES)
def test_ansible_doc_renders_every_role_entry_point(installed: Path, role: str) -> None:
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    shown = run(str(BIN / "ansible-doc"), "-t", "role", f"{FQCN}.{role}", cwd=installed, env=project_env(installed))
    assert shown.returncode == 0, shown.stderr
    # Each entry point's header (its name in bold: *name* without a terminal), and its description.
    headers = [line.replace("*", "") for line in shown.stdout.splitlines() if line.startswith("ENTRY POINT:")]
    assert headers == [f"ENTRY POINT: {name} - {' '.join(s['short_description'].split())}" for name, s in specs.items()]
    flat = " ".join(shown.stdout.split())
    for name, spec in specs.items():
        assert spec.get("description"), f"entry point {name} has no description"
        # Its opening words (markup such as C() renders differently further on).
        assert " ".join(spec["description"][0].split()[:4]) in flat


def refusal(project: Path, *extra: str) -> str:
    """deploy by its full name from the installed collection; its output, after
    checking it failed at validation and wrote nothing into the project."""
    before = sorted(p.relative_to(project) for p in project.rglob("*") if ".ansible" not in p.parts)
    done = run(
        str(BIN / "ansible-playbook"),
        f"{FQCN}.deploy",
        "-i",
        "inventory",
        *extra,
        cwd=project,
        env=project_env(project),
    )
    after = sorted(p.relative_to(project) for p in project.rglob("*") if ".ansible" not in p.parts)
    assert done.returncode != 0
    assert "nothing was changed" in done.stdout.lower()
    assert "Traceback" not in done.stdout + done.stderr
    assert before == after
    return done.stdout


def test_bad_input_is_refused_through_the_installed_collection(installed: Path) -> None:
    """The filters and the role resolve by their full names: the rule fires."""
    out = refusal(installed, "-e", "flower_superlink_state_dir=/etc")
    assert "flower_superlink_state_dir" in out and "shared system directory" in out


@pytest.mark.parametrize(
    ("given", "says"),
    [
        ({"flower_superlink_restart_sec": "5min"}, 'flower_superlink_restart_sec="5min" is not a whole number'),
        ({"flower_superlink_read_only": "flase"}, 'flower_superlink_read_only="flase" is not a boolean'),
        (
            {
                "flower_superlink_insecure": "true",
                "flower_offsite_backup_repository": "/srv/flower-offsite",
                "flower_offsite_backup_password": "x",
                "flower_offsite_backup_randomized_delay": "5min",
            },
            'flower_offsite_backup_randomized_delay="5min" is not a whole number',
        ),
        (
            {"flower_superlink_insecure": "true", "docker_engine_registry_ca_certificates": {"../etc": "x"}},
            "docker_engine_registry_ca_certificates maps a registry address",
        ),
    ],
    ids=["superlink-int", "superlink-bool", "offsite-int", "engine-registry-name"],
)
def test_bad_input_is_refused_by_the_roles_own_checks(installed: Path, given: dict[str, Any], says: str) -> None:
    """Ansible's own argument-spec validation of an entry point would stop a
    wrong type first, with its words and no "nothing was changed": the
    validate entry points declare no options, and the roles' checks speak."""
    assert says in refusal(installed, "-e", json.dumps(given))


def test_a_directory_inside_the_installed_collection_is_refused(installed: Path) -> None:
    inside = installed / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"] / "tls"
    out = refusal(
        installed,
        "-e",
        "flower_superlink_tls_generate=true",
        "-e",
        f"flower_superlink_tls_generate_dir={inside}",
    )
    assert "inside an installed Ansible collection" in out


def test_a_staging_ca_left_where_the_playbooks_kept_it_is_refused(installed: Path, tarball: Path) -> None:
    """The generated CA used to live at playbook_dir/../.tls; the default is now
    beside the inventory. With the old one present and the new one absent the
    deploy names both and the move, and generates nothing."""
    collection = installed / "collections" / "ansible_collections" / GALAXY["namespace"] / GALAXY["name"]
    legacy = collection / ".tls"
    legacy.mkdir()
    (legacy / "ca.crt").write_text("an earlier staging CA\n")
    try:
        out = refusal(installed, "-e", "flower_superlink_tls_generate=true")
        assert f"mv {legacy} {installed / 'inventory' / '.tls'}" in out
    finally:
        (legacy / "ca.crt").unlink()
        legacy.rmdir()


def test_installs_from_git(tmp_path: Path) -> None:
    """`ansible-galaxy collection install git+…` as the README gives it, from
    this repository's committed tree, and the installed deploy runs."""
    path = install(tmp_path / "from-git", f"git+file://{ROOT},HEAD")
    assert (path / "playbooks" / "deploy.yml").is_file()
    assert not (path / "tests").exists() and not (path / "molecule").exists()
