"""The project's package: `names` says what it is called, `cli` is where commands start."""

# A literal keeps importing the package cheap; a test checks it against the installed metadata.
__version__ = {{ cookiecutter.version | literal }}
