"""What ansible-test runs to put pip into each sanity test's virtualenv.

ansible-test (sanity, even with --local) creates a virtualenv per test without
pip, then runs get-pip-<version>.py in it, downloaded from a host this project's
machines cannot reach, unless the script is already at
~/.ansible/test/cache/get_pip_<version>.py ("can be manually downloaded and
saved to", its error says). get-pip.py is pip's own wheel plus one command,
``pip install --upgrade --force-reinstall ARGS pip``. This is that command,
run from the pip wheel beside it: `nox -s sanity` downloads that wheel from
PyPI into the cache (pip==SANITY_PIP in noxfile.py, the version ansible-test
asks for) and copies this file there as get_pip_<version>.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

# get-pip.py's own options; ansible-test passes both (it wants no setuptools and no wheel).
OWN = {"--no-setuptools", "--no-wheel"}

(wheel,) = Path(__file__).parent.glob("pip-*.whl")
sys.path.insert(0, str(wheel))

from pip._internal.cli.main import main  # noqa: E402  (from the wheel just put on the path)

sys.exit(main(["install", "--upgrade", "--force-reinstall", *(a for a in sys.argv[1:] if a not in OWN), "pip"]))
