"""YAML read strictly: a key written twice is refused, aliases cannot blow up, errors stay short."""

from __future__ import annotations

from typing import Any

import yaml

from . import PipelineError

# A params file holds some dozens of values. Aliases share nodes, so a small file can name billions of values
# ("billion laughs"): what validating it would walk is counted first, on the shared nodes, and refused.
MAX_VALUES = 10_000
MESSAGE_LIMIT = 300  # characters of a YAML error: it quotes the input, which may be huge


class StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a mapping key given twice (PyYAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping after checking that no explicit key repeats (merge keys may override)."""
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge" or not isinstance(
                key_node, yaml.ScalarNode
            ):
                continue
            key = self.construct_object(key_node)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {str(key)[:40]!r} is given twice (lines {seen[key].line + 1} and "
                    f"{key_node.start_mark.line + 1}): keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep)


def expanded_size(node: yaml.Node, sizes: dict[int, int] | None = None) -> int:
    """How many values the node stands for once every alias is written out (shared nodes counted once each)."""
    sizes = {} if sizes is None else sizes
    if id(node) in sizes:
        return sizes[id(node)]
    sizes[id(node)] = MAX_VALUES + 1  # a node that contains itself never ends
    children: list[yaml.Node] = []
    if isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    elif isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    total = 1
    for child in children:
        total += expanded_size(child, sizes)
        if total > MAX_VALUES:
            break
    sizes[id(node)] = total
    return total


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document strictly; PipelineError naming `source` and the line for anything wrong."""
    loader = StrictLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        sizes: dict[int, int] = {}
        total = expanded_size(root, sizes)
        # Many values written out are only a long file; many more values than nodes are aliases at work.
        if total > MAX_VALUES and total > 2 * len(sizes):
            raise PipelineError(
                f"{source}: its aliases (*name) expand to more than {MAX_VALUES} values: write the "
                "values out instead of nesting anchors"
            )
        return loader.construct_document(root)
    except (
        yaml.MarkedYAMLError
    ) as error:  # the problem and its line, without PyYAML's quote of the input
        mark = error.problem_mark or error.context_mark
        where = f", line {mark.line + 1}" if mark else ""
        problem = (error.problem or error.context or "").strip()[:MESSAGE_LIMIT]
        if "is given twice" in problem:
            raise PipelineError(f"{source}: {problem}") from None
        raise PipelineError(f"{source}{where}: not valid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise PipelineError(f"{source}: not valid YAML: {str(error)[:MESSAGE_LIMIT]}") from None
    finally:
        loader.dispose()
