"""The serving image: its build context (model, locked wheelhouse) and the engines that build and run it."""
