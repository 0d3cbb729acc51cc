#!/usr/bin/env python3
"""The ipflow dashboard as a Superset import bundle.

    bundle.py --uri             print the connection URI of the ipflow database
    bundle.py SRC_DIR OUT_ZIP   zip SRC_DIR (metadata.yaml, databases/, datasets/,
                                charts/, dashboards/) under one folder, as
                                Superset exports it, with that URI written into
                                databases/*.yaml

An export carries no password (XXXXXXXXXX) and `superset import-dashboards`
asks for none, so the connection comes from the environment: IPFLOW_READER_USER,
IPFLOW_READER_PASSWORD, IPFLOW_DB_HOST, IPFLOW_DB_PORT, IPFLOW_DB_NAME.
"""
import os
import sys
import zipfile
from urllib.parse import quote

import yaml


def uri():
    env = os.environ.get
    return "postgresql+psycopg2://{}:{}@{}:{}/{}".format(
        quote(env("IPFLOW_READER_USER", "superset_ro"), safe=""),
        quote(os.environ["IPFLOW_READER_PASSWORD"], safe=""),
        env("IPFLOW_DB_HOST", "postgres"), env("IPFLOW_DB_PORT", "5432"),
        env("IPFLOW_DB_NAME", "ipflow"))


def bundle(src, out):
    with zipfile.ZipFile(out, "w") as z:
        for root, _, files in sorted(os.walk(src)):
            for f in sorted(files):
                path = os.path.join(root, f)
                text = open(path, encoding="utf-8").read()
                if os.path.basename(root) == "databases":
                    doc = yaml.safe_load(text)
                    doc["sqlalchemy_uri"] = uri()
                    text = yaml.safe_dump(doc, sort_keys=False)
                z.writestr(os.path.join("ipflow_dashboard", os.path.relpath(path, src)), text)


if __name__ == "__main__":
    if sys.argv[1:] == ["--uri"]:
        print(uri())
    elif len(sys.argv) == 3:
        bundle(sys.argv[1], sys.argv[2])
    else:
        sys.exit(__doc__)
