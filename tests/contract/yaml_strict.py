"""Reads YAML files the way a strict parser does, where PyYAML's own loader
is lenient: a mapping that has a key twice is an error here (PyYAML keeps the
last value without a word, so openapi.yaml once had two GeoPoint schemas and
only the second was ever seen). Anchors and aliases, and several documents in
one file, are read as YAML defines them.

    python yaml_strict.py FILE...

Prints one line per file ("ok FILE" or "FAIL FILE: where and why") and exits
non-zero when any file fails."""
import sys

import yaml


class StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a mapping with a duplicate key."""

    def construct_mapping(self, node, deep=False):
        seen = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found an unhashable key", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping", node.start_mark,
                    "found key %r twice (first %s)" % (key, seen[key]), key_node.start_mark)
            seen[key] = "line %d" % (key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep)


StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                             StrictLoader.construct_mapping)


def main(paths):
    failed = 0
    for path in paths:
        try:
            with open(path, encoding="utf-8") as f:
                for _ in yaml.load_all(f, Loader=StrictLoader):
                    pass
            print("ok", path)
        except (OSError, yaml.YAMLError) as e:
            failed += 1
            print("FAIL %s: %s" % (path, " ".join(str(e).split())))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
