"""Callback plugin: load the Jinja2 filter and test plugins once, in the controller.

Ansible runs every task in a forked worker process. The first filter or test a
worker evaluates (``default``, ``bool``, a role's own filters) makes it load
every filter (or test) plugin file it can find, and that cache dies with the
worker: the next task loads them all again. Profiled with py-spy on a deploy
that changes nothing, this was about a quarter of the controller's CPU time
(docs/history/benchmarks-log.md). Loaded in the controller before a task forks its worker,
they are inherited by the fork instead.

Including a role adds its plugin directories, which empties the cache; so the
cache is refilled at every task start. While it is full that costs nothing.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload_jinja_plugins
type: aggregate
short_description: Load Jinja2 filter and test plugins in the controller before each task forks its worker
version_added: 0.27.0
description:
  - Speed only; it prints nothing and changes no result. Enable it with callbacks_enabled.
requirements:
  - enabled in callbacks_enabled (ansible.cfg does)
"""

from typing import Any

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import filter_loader, test_loader


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "preload_jinja_plugins"
    CALLBACK_NEEDS_ENABLED = True

    def _preload(self) -> None:
        # all() fills the loader's cache of short-named plugins on its first
        # item; it is a dictionary lookup while the cache is full.
        for loader in (filter_loader, test_loader):
            next(iter(loader.all(path_only=True)), None)

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._preload()

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._preload()
