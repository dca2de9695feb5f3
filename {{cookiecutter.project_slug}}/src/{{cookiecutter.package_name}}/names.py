"""What this project is called: the template's answers, rendered once (the package's only answers in code).

Every other module imports its names from here. Each answer passes through one escaping filter, so any name
or description the template accepted is a plain string literal here, never code.
"""

# The answers are as long as they were given: black leaves these lines as rendered.
# fmt: off
PROJECT_NAME = {{ cookiecutter.project_name | literal }}
DESCRIPTION = {{ cookiecutter.description | literal }}
DISTRIBUTION = {{ cookiecutter.project_slug | literal }}
# fmt: on
PACKAGE = __name__.rpartition(".")[0]
ENV_PREFIX = f"{PACKAGE.upper()}_"
# The URI scheme of the project's artifacts (mlflow_plugin.artifacts; its entry point in pyproject.toml).
ARTIFACT_SCHEME = f"{DISTRIBUTION}-artifacts"
# Where runs go unless <PREFIX>_TRACKING_URI says otherwise: None is the embedded store in .mlflow/, a URL the
# team's tracking server (`make tracking-server` starts one on this machine).
{%- if cookiecutter.tracking == "server" %}
DEFAULT_TRACKING_URI: str | None = "http://127.0.0.1:5000"
{%- else %}
DEFAULT_TRACKING_URI: str | None = None
{%- endif %}
