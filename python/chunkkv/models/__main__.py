"""Writes a generated decoder module: python -m chunkkv.models [options]."""

import argparse
import dataclasses
import sys

from .config import FORMS, LAYOUTS, QK_FORMS, SOFTMAX_FORMS, ModelConfig
from .emit import module_text


def main(argv=None):
    defaults = ModelConfig()
    parser = argparse.ArgumentParser(prog="python -m chunkkv.models",
                                     description="Llama-style decoder as MLIR text")
    for field in dataclasses.fields(ModelConfig):
        name = "--" + field.name.replace("_", "-")
        default = getattr(defaults, field.name)
        if isinstance(default, bool):
            parser.add_argument(name, action="store_true")
        else:
            choices = {"form": FORMS, "layout": LAYOUTS, "qk": QK_FORMS,
                       "softmax": SOFTMAX_FORMS}.get(field.name)
            parser.add_argument(name, type=type(default), default=default, choices=choices)
    parser.add_argument("-o", "--output", help="output file (default: stdout)")
    args = vars(parser.parse_args(argv))
    output = args.pop("output")
    try:
        text = module_text(ModelConfig(**args))
    except (ValueError, FileNotFoundError, RuntimeError) as error:
        sys.exit(f"python -m chunkkv.models: error: {error}")
    if output:
        with open(output, "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
