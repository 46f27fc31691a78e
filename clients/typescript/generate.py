#!/usr/bin/env python3
"""Generates src/types.ts from docs/openapi.yaml: one TypeScript type per component schema
(required properties required, nullable ones `| null`, enums as unions of literals).

    python3 clients/typescript/generate.py            # rewrite src/types.ts
    python3 clients/typescript/generate.py --check    # fail when src/types.ts is stale
"""
import os
import sys

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SPEC = os.path.join(HERE, "..", "..", "docs", "openapi.yaml")
OUT = os.path.join(HERE, "src", "types.ts")


def ts_type(schema: dict, indent: str = "") -> str:
    if "$ref" in schema:
        t = schema["$ref"].rsplit("/", 1)[-1]
    elif "enum" in schema:
        t = " | ".join(repr(v).replace("'", '"') if isinstance(v, str) else str(v).lower() for v in schema["enum"])
    elif "anyOf" in schema and "type" not in schema:
        t = " | ".join(ts_type(s, indent) for s in schema["anyOf"])
    else:
        kind = schema.get("type")
        if kind == "string":
            t = "string"
        elif kind in ("integer", "number"):
            t = "number"
        elif kind == "boolean":
            t = "boolean"
        elif kind == "array":
            inner = ts_type(schema.get("items", {}), indent)
            t = f"Array<{inner}>"
        elif kind == "object" or "properties" in schema:
            props = schema.get("properties")
            if not props:
                t = "Record<string, unknown>"
            else:
                required = set(schema.get("required", []))
                lines = ["{"]
                for name, sub in props.items():
                    doc = sub.get("description")
                    if doc:
                        lines.append(f"{indent}  /** {doc} */")
                    opt = "" if name in required else "?"
                    key = name if name.replace("_", "").isalnum() else f'"{name}"'
                    lines.append(f"{indent}  {key}{opt}: {ts_type(sub, indent + '  ')};")
                lines.append(f"{indent}}}")
                t = "\n".join(lines)
        else:
            t = "unknown"
    if schema.get("nullable"):
        t = f"{t} | null"
    return t


def generate() -> str:
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    out = [
        "// Generated from docs/openapi.yaml by clients/typescript/generate.py. Do not edit:",
        "// change the document, then run `python3 clients/typescript/generate.py`.",
        "",
    ]
    for name, schema in spec["components"]["schemas"].items():
        doc = schema.get("description")
        if doc:
            out.append(f"/** {doc} */")
        out.append(f"export type {name} = {ts_type(schema)};")
        out.append("")
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            ops.append(f'  {op["operationId"]}: {{ method: "{method.upper()}"; path: "{path}" }};')
    out.append("/** Every operation of the API by its operationId. */")
    out.append("export interface Operations {")
    out.extend(ops)
    out.append("}")
    out.append("")
    return "\n".join(out)


def main() -> int:
    text = generate()
    if "--check" in sys.argv:
        with open(OUT) as f:
            if f.read() != text:
                print("clients/typescript/src/types.ts is stale: run python3 clients/typescript/generate.py", file=sys.stderr)
                return 1
        return 0
    with open(OUT, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
