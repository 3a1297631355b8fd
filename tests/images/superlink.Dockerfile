# Offline stand-in for the upstream flwr/superlink image, built the same way as
# Flower's own src/docker/base/ubuntu + src/docker/superlink Dockerfiles:
# a venv at /python/venv owned by app, user app (uid/gid 49999), HOME and
# WORKDIR /app, entrypoint flower-superlink. Only the base differs: Debian
# bookworm's python3 instead of a pyenv-built one, because no registry is
# reachable here.
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS python
COPY wheels/ /wheels/
ARG PIP_WHEEL
# No python3-venv in the base: create the venv without ensurepip and run pip
# straight from its wheel, installing only what the lock file names.
RUN python3 -m venv --without-pip /python/venv \
    && /python/venv/bin/python "/wheels/${PIP_WHEEL}/pip" install \
       --no-index --find-links /wheels --no-cache-dir --no-compile \
       -r /wheels/requirements.txt

FROM ${BASE_IMAGE}
RUN groupadd --gid 49999 app \
    && useradd --uid 49999 --gid 49999 --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin app \
    && mkdir -p /app \
    && chown -R app:app /app
COPY --from=python --chown=app:app /python/venv /python/venv
ENV PATH=/python/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONIOENCODING=UTF-8 \
    LANG=C.UTF-8 \
    LC_ALL=C.UTF-8
WORKDIR /app
USER app
ENV HOME=/app
ENTRYPOINT ["flower-superlink"]
