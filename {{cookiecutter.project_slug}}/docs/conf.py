"""Sphinx configuration of the docs site: `make docs` builds it strictly, `make docs-serve` serves it."""

from {{ cookiecutter.package_name }} import names

project = names.PROJECT_NAME
html_title = names.PROJECT_NAME

# The pages are Markdown (MyST, which reads GitHub's syntax); the API reference is written by sphinx-autoapi from
# the source, without importing the package, and its Google-style docstrings are read by napoleon.
extensions = ["myst_parser", "sphinx.ext.napoleon", "autoapi.extension"]
# reST first: autoapi writes its pages with the first suffix.
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# Docstrings write `name` for code, as Markdown does; reST's default would be italics.
default_role = "code"
# Docstrings name options (`--percent`) and quote code: no typographic dashes or quotes.
smartquotes = False
html_theme = "furo"  # maintained, and ships its assets: the site works offline
myst_heading_anchors = 3  # `page.md#a-heading` links resolve as they do on GitHub

autoapi_dirs = ["../src"]
autoapi_root = "reference"  # generated at build time under docs/reference/, then removed
autoapi_add_toctree_entry = False  # api.md introduces the reference and links it
autoapi_options = ["members", "undoc-members", "show-inheritance", "show-module-summary"]
autoapi_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

suppress_warnings = [
    # A name re-exported from another library (in `__all__`) cannot be followed into that library's source:
    # autoapi reads only this package. The name is still listed.
    "autoapi.python_import_resolution",
]
