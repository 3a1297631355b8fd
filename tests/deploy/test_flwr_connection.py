"""The Flower CLI's connection the deploy writes on the controller
(flower_superlink_flwr_dir): an operator's `flwr` lists the SuperLink's runs
with it as written. The CLI runs in a container of the release's own image on
this machine's engine, as the files' owner, with the written directory at the
same path (the file names its CA by it), on the scenario's network: another
machine, which reaches the host by its name (ansible_host) as the controller
does. (The scenarios publish the Control API on every address; the default,
the host's loopback, is what the file then says to forward first.)"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import docker
from conftest import ROOT, Deployment, Flwr, target_name


def test_the_written_connection_lists_the_runs_from_another_machine(
    host: Any, deployment: Deployment, flwr: Flwr, docker_client: docker.DockerClient, tmp_path: Path
) -> None:
    name = target_name(host)
    home = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "flwr" / name
    runs = {flwr.submit_run()} | flwr.run_ids()
    written = sorted(p.name for p in home.iterdir())
    connection = "config.toml" if "config.toml" in written else "federation.toml"
    assert written == (["ca.crt", connection] if deployment.tls else [connection])
    # The host as the controller reaches it, not the controller itself.
    assert f'address = "{name}:' in (home / connection).read_text()
    assert home.stat().st_mode & 0o777 == 0o700
    assert (home / connection).stat().st_mode & 0o777 == 0o600
    if deployment.tls:
        assert (home / "ca.crt").read_text() == host.file(deployment.ca_cert).content_string
    # A copy, so that what the CLI writes beside its connection stays there.
    copy = tmp_path / "home"
    shutil.copytree(home, copy)
    volumes = {str(copy): {"bind": str(home), "mode": "rw"}}
    environment = {"FLWR_TELEMETRY_ENABLED": "0", "HOME": str(tmp_path)}
    if connection == "config.toml":
        # FLWR_HOME, as the file says.
        environment["FLWR_HOME"] = str(home)
        command = ["ls", name, "--format", "json"]
        workdir = str(tmp_path)
    else:
        # Added to the app's pyproject.toml, as the file says.
        app = tmp_path / "app"
        shutil.copytree(ROOT / "tests" / "flower_app", app)
        with (app / "pyproject.toml").open("a") as pyproject:
            pyproject.write("\n" + (home / connection).read_text())
        volumes[str(app)] = {"bind": str(app), "mode": "rw"}
        command = ["ls", ".", name, "--format", "json"]
        workdir = str(app)
    volumes[str(tmp_path)] = {"bind": str(tmp_path), "mode": "rw"}
    network = next(iter(docker_client.containers.get(name).attrs["NetworkSettings"]["Networks"]))
    out = docker_client.containers.run(
        f"flower-iac/superlink:{deployment.version}",
        command,
        entrypoint="flwr",
        user=f"{os.getuid()}:{os.getgid()}",
        network=network,
        volumes=volumes,
        environment=environment,
        working_dir=workdir,
        remove=True,
    )
    answer: dict[str, Any] = json.loads(out)
    assert answer.get("success"), answer
    assert {int(run["run-id"]) for run in answer["runs"]} >= runs
