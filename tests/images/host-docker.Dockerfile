# A target host that already runs Debian's Docker engine, as many servers do
# before this bundle reaches them: the plain host image plus the packages the
# docker_engine role would install (docker.io, docker-cli on trixie, the
# Python libraries the Docker modules use, python3-apt) and openssh-client
# (SuperNode key pairs). Scenarios that prove something other than the
# engine's installation use it; the role still runs in full on it (every
# package already present). The default scenario, the hardening fresh host
# and the offsite spare keep the plain image and install everything.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG PACKAGES
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${PACKAGES} \
    && apt-get clean
