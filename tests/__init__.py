"""The template's tests: bakes, hooks, generated workflows, updates, publishing and end to end."""
