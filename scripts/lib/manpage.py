#!/usr/bin/env python3
"""Writes gossip-node(1) in roff from the argument parser's own description of the commands
(`gossip-node --experimental-dump-help`), plus the options of `run` with their defaults and
environment names (`gossip-node run --help` prints the same). Usage: manpage.py BINARY > gossip-node.1"""
import json
import subprocess
import sys


def esc(text: str) -> str:
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in out.splitlines())


def arguments(command: dict) -> list[str]:
    lines = []
    for a in command.get("arguments", []):
        if a.get("shouldDisplay") is False:
            continue
        names = a.get("names") or []
        flags = ", ".join(("--" if n["kind"] == "long" else "-") + n["name"] for n in names) or a.get("valueName", "")
        if a.get("kind") == "option":
            flags += f" {a.get('valueName', 'VALUE').upper()}"
        elif a.get("kind") == "positional":
            flags = a.get("valueName", "ARG").upper()
        if flags.strip() in ("--help, -h", "-h, --help", "--version"):
            continue
        lines.append(".TP")
        lines.append(f"\\fB{esc(flags)}\\fR")
        lines.append(esc(a.get("abstract", "")))
    return lines


def main() -> int:
    binary = sys.argv[1]
    tree = json.loads(subprocess.run([binary, "--experimental-dump-help"], capture_output=True, text=True, check=True).stdout)
    root = tree["command"]
    version = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()
    out = [
        f'.TH GOSSIP\\-NODE 1 "" "gossip-node {esc(version)}" "User Commands"',
        ".SH NAME",
        f"gossip\\-node \\- {esc(root.get('abstract', ''))}",
        ".SH SYNOPSIS",
        "\\fBgossip\\-node\\fR \\fISUBCOMMAND\\fR [\\fIOPTIONS\\fR]",
        ".SH DESCRIPTION",
        esc(root.get("discussion", root.get("abstract", ""))),
        ".SH COMMANDS",
    ]

    def walk(command: dict, prefix: str) -> None:
        for sub in command.get("subcommands", []):
            name = f"{prefix} {sub['commandName']}".strip()
            out.append(".SS " + esc(f"gossip-node {name}"))
            out.append(esc(sub.get("abstract", "")))
            if sub.get("discussion"):
                out.append(".PP")
                out.append(esc(sub["discussion"]))
            out.extend(arguments(sub))
            walk(sub, name)

    walk(root, "")
    out += [
        ".SH ENVIRONMENT",
        "Every option of \\fBrun\\fR can also be set as \\fBGOSSIP_NODE_\\fR and its name in capitals with underscores",
        "(e.g. \\fBGOSSIP_NODE_SEED\\fR; comma\\-separated for repeatable options), or as \\fIname = value\\fR",
        "in the \\fIconfig\\fR file of the data directory. Command line over environment over config file over defaults.",
        ".SH EXIT STATUS",
        "0 success; 1 an error (the message says what to do); 2 a usage error; 3 \\fBverify\\fR or \\fBimport\\fR found invalid data.",
        ".SH SIGNALS",
        "SIGTERM and SIGINT stop the node gracefully. SIGHUP reloads the trust list, the block list and the log level.",
        ".SH FILES",
        ".TP",
        "\\fI/var/lib/gossip\\-node\\fR",
        "The service's data directory: identity, network.key, config, node.db.",
        ".TP",
        "\\fI/etc/default/gossip\\-node\\fR",
        "Environment for the service (GOSSIP_NODE_* variables).",
        ".SH SEE ALSO",
        "docs/operations.md, docs/protocol.md and docs/security.md in the source distribution.",
    ]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
