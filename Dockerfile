# The image Fly.io and Railway build: the service, its pinned requirements and the bundles.
# The Python the bundles were saved with (each card's versions, render.yaml's PYTHON_VERSION),
# pinned by tag and by digest so a rebuild gets the very same base. To move to another patch:
# re-save the bundles with it, set PYTHON_VERSION in render.yaml, and take the new tag's digest
# from `docker buildx imagetools inspect python:3.11.X-slim` (the "Digest:" line).
FROM python:3.11.7-slim@sha256:637774748f62b832dc11e7b286e48cd716727ed04b45a0322776c01bc526afc3

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8080 \
    WEB_CONCURRENCY=1

# The service runs as this user; its home is the working directory, so the default
# SQLite prediction log (when no DATABASE_URL is set) can be written there.
RUN useradd --create-home --uid 10001 freeport
WORKDIR /home/freeport

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY api ./api
COPY models ./models
# Load every bundle once: a bad model fails the build, not the deploy.
RUN python -m api.bundle check

USER freeport
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('PORT', '8080'), timeout=4)"]
# The one entrypoint; it reads PORT (Railway sets its own, Fly uses the 8080 above).
CMD ["python", "-m", "api"]
