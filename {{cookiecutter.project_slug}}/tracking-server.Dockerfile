# The team's MLflow tracking server, built from this project's locked environment (see compose.yaml).
ARG BASE_IMAGE=python:{{ cookiecutter.python_version }}-slim
FROM ${BASE_IMAGE}

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1 \
    MLFLOW_DISABLE_TELEMETRY=true DVC_NO_ANALYTICS=1
RUN pip install "poetry>=2.1,<3" && useradd --create-home --uid 10001 mlflow
WORKDIR /project
# Dependencies first, so a code change rebuilds only the last layers.
COPY pyproject.toml poetry.lock README.md ./
RUN poetry install --only main --no-root
COPY src ./src
RUN poetry install --only main \
    && mkdir -p /artifacts logs \
    && chown mlflow /artifacts logs

USER mlflow
ENV PATH=/project/.venv/bin:$PATH
EXPOSE 5000
CMD ["{{ cookiecutter.project_slug }}", "tracking", "server"]
