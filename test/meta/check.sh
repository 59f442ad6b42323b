#!/usr/bin/env bash
# META.json (PGXN) agrees with secrets_store.control.  Output: TAP.
cd "$(dirname "$0")/../.."
/usr/bin/python3 - <<'PY'
import json, re, os
meta = json.load(open("META.json"))
control = dict(re.findall(r"^(\w+)\s*=\s*'?([^'\n]*)'?", open("secrets_store.control").read(), re.M))
checks = [
    (meta["name"] == "secrets_store", "META.json names the extension"),
    ("secrets_store" in meta["provides"], "META.json provides secrets_store"),
    (meta["version"].startswith(control["default_version"] + "."), "META.json version %s matches default_version %s" % (meta["version"], control["default_version"])),
    (meta["provides"]["secrets_store"]["version"] == meta["version"], "the provided extension has the distribution's version"),
    (os.path.exists(meta["provides"]["secrets_store"]["file"]), "the provided file exists"),
    (os.path.exists("sql/secrets_store--1.0--%s.sql" % control["default_version"]) or control["default_version"] == "1.0", "an update path to the default version exists"),
    (meta["abstract"] == control["comment"], "the abstract is the control file's comment"),
]
for i, (passed, text) in enumerate(checks, 1):
    print("%s %d - %s" % ("ok" if passed else "not ok", i, text))
print("1..%d" % len(checks))
PY
