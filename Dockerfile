# syntax=docker/dockerfile:1
# Base image: an exact CPython patch release on an exact Debian release, the same tag in both
# stages. To update it: take the newest python:3.11.X-slim-trixie tag from Docker Hub, put it in both
# FROM lines, rebuild and run the test suite against the image. To freeze the bytes as well, append
# the digest that `docker buildx imagetools inspect python:3.11.X-slim-trixie` prints, as
# python:3.11.X-slim-trixie@sha256:<digest> (it then changes only when you change it).
FROM python:3.11.14-slim-trixie AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 UV_PYTHON_DOWNLOADS=never
WORKDIR /build
# The uv that reads uv.lock: pyproject.toml's [tool.uv] required-version (tests/test_deploy.py).
RUN pip install --no-cache-dir uv==0.13.9
COPY pyproject.toml uv.lock README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
# From uv.lock (`--locked` refuses a lock that no longer matches pyproject.toml), with a sha256 for
# every file: the runtime set only (no extras, no dependency groups) for the image, and the locked
# build backend, with which pip builds namecase's own wheel here.
RUN mkdir /wheels \
 && uv export --locked --no-dev --no-emit-project --format requirements-txt \
      --output-file /wheels/requirements.txt \
 && uv export --locked --only-group build --no-emit-project --format requirements-txt \
      --output-file build-requirements.txt \
 && pip install --no-cache-dir --require-hashes --requirement build-requirements.txt \
 && pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels .

FROM python:3.11.14-slim-trixie
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN groupadd --gid 10001 namecase \
 && useradd --create-home --uid 10001 --gid 10001 namecase
COPY --from=build /wheels /wheels
# Every dependency at uv.lock's version, each file checked against its sha256; then namecase
# itself, whose dependencies are exactly those (`pip check` proves nothing is missing).
RUN pip install --no-cache-dir --require-hashes --requirement /wheels/requirements.txt \
 && pip install --no-cache-dir --no-deps /wheels/namecase-*.whl \
 && pip check \
 && rm -rf /wheels
# Numeric, so an orchestrator can verify it is not root (Kubernetes runAsNonRoot).
USER 10001:10001
WORKDIR /home/namecase
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]
ENTRYPOINT ["namecase"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
