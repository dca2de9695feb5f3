"""Run the command line interface with `python -m {{ cookiecutter.package_name }}`."""

from {{ cookiecutter.package_name }}.cli import main

main()
