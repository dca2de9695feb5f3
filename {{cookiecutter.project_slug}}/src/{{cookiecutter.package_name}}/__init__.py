"""{{ cookiecutter.project_name }}: {{ cookiecutter.description }}"""

# A literal keeps `import {{ cookiecutter.package_name }}` cheap; a test checks it against the installed metadata.
__version__ = "{{ cookiecutter.version }}"
