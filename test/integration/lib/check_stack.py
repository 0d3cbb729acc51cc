#!/usr/bin/env python3
"""Checks of the Docker stack's files that need no Docker engine.

    check_stack.py compose CONFIG_YAML   the output of `docker-compose config`
    check_stack.py bundle BUNDLE_DIR     the Superset dashboard bundle's references

Prints one line per check: "0<TAB>description" when it holds,
"1<TAB>description<TAB>why not" when it does not.
"""
import glob
import os
import sys

import yaml


def check(ok, description, why=""):
    print("%d\t%s\t%s" % (0 if ok else 1, description, why if not ok else ""))


def published(service):
    """Host ports of a service, long or short syntax."""
    ports = set()
    for p in service.get("ports", []):
        if isinstance(p, dict):
            ports.add(int(p["published"]))
        else:
            ports.add(int(str(p).split(":")[-2]))
    return ports


def compose(path):
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    services = doc["services"]
    want = {"postgres": 5434, "kafka": 9092, "kafdrop": 9000, "redis": 6379,
            "redisinsight": 8001, "superset": 8088}
    check(set(services) == set(want), "the services are %s" % ", ".join(sorted(want)),
          "got %s" % sorted(services))
    for name, port in sorted(want.items()):
        s = services.get(name, {})
        check(port in published(s), "%s is published on host port %d" % (name, port),
              "got %s" % sorted(published(s)))
        check(bool(s.get("healthcheck", {}).get("test")), "%s has a healthcheck" % name)
        deps = s.get("depends_on", {})
        conds = [d.get("condition") for d in deps.values()] if isinstance(deps, dict) else ["short syntax"]
        if deps:
            check(all(c == "service_healthy" for c in conds),
                  "%s waits for %s to be healthy" % (name, ", ".join(sorted(deps))), "conditions %s" % conds)
        for v in s.get("volumes", []):
            source = v.get("source") if isinstance(v, dict) else str(v).split(":")[0]
            kind = v.get("type") if isinstance(v, dict) else "volume"
            check(kind == "volume" and source in (doc.get("volumes") or {}),
                  "%s keeps %s in a named volume" % (name, source), "type %s" % kind)
    images = " ".join(str(s.get("image", "")) for s in services.values())
    check("zookeeper" not in images.lower(), "no ZooKeeper")
    kafka = services.get("kafka", {})
    env = kafka.get("environment", {})
    check(kafka.get("image", "").startswith("apache/kafka:") and "controller" in str(env.get("KAFKA_PROCESS_ROLES")),
          "Kafka is the official apache/kafka image in KRaft mode (broker and controller)")
    test = " ".join(services.get("redis", {}).get("healthcheck", {}).get("test", []))
    check("MODULE LIST" in test and "timeseries" in test, "Redis is healthy only with the time-series module")
    pg = services.get("postgres", {})
    cmd = " ".join(pg.get("command", [])) if isinstance(pg.get("command"), list) else str(pg.get("command"))
    for setting in ("shared_preload_libraries=pg_cron,ipflow", "cron.database_name=ipflow",
                    "ipflow.database=ipflow", "ipflow.kafka_brokers=kafka:", "ipflow.redis_url=redis://redis:"):
        check(setting in cmd, "postgres runs with %s" % setting, cmd)
    check(pg.get("build", {}).get("dockerfile") == "docker/postgres/Dockerfile",
          "postgres is built from docker/postgres/Dockerfile")


def bundle(path):
    load = lambda pattern: [yaml.safe_load(open(f, encoding="utf-8"))
                            for f in sorted(glob.glob(os.path.join(path, pattern)))]
    meta = load("metadata.yaml")
    check(len(meta) == 1 and meta[0].get("type") == "Dashboard", "metadata.yaml marks a dashboard bundle")
    dbs, datasets, charts, dashboards = (load("databases/*.yaml"), load("datasets/*/*.yaml"),
                                         load("charts/*.yaml"), load("dashboards/*.yaml"))
    check(len(dbs) == 1 and "XXXXXXXXXX" in dbs[0]["sqlalchemy_uri"] and not dbs[0].get("allow_dml"),
          "one database, password masked as in an export, no DML")
    db_uuid = dbs[0]["uuid"] if dbs else None
    check(all(d["database_uuid"] == db_uuid for d in datasets), "every dataset is on that database")
    names = sorted(d["table_name"] for d in datasets)
    check(names == ["v_anomalies", "v_forecast_vs_actual", "v_ingest_stats", "v_ip_activity"],
          "datasets on the four views", "got %s" % names)
    ds_uuids = {d["uuid"] for d in datasets}
    check(all(c["dataset_uuid"] in ds_uuids for c in charts), "every chart's dataset is in the bundle")
    check(len(dashboards) == 1 and dashboards[0]["dashboard_title"] == "ipflow", "one dashboard, \"ipflow\"")
    if dashboards:
        d = dashboards[0]
        placed = {v["meta"]["uuid"] for v in d["position"].values()
                  if isinstance(v, dict) and v.get("type") == "CHART"}
        check(placed == {c["uuid"] for c in charts}, "the dashboard shows every chart of the bundle, once")
        pos = d["position"]
        broken = [k for k, v in pos.items() if isinstance(v, dict) and
                  (any(p not in pos for p in v.get("parents", [])) or
                   any(c not in pos or k not in pos[c].get("parents", [k]) for c in v.get("children", [])))]
        check(not broken, "every layout item's parents and children exist", "broken: %s" % broken)
        for f in d["metadata"].get("native_filter_configuration", []):
            check(all(t.get("datasetUuid") in ds_uuids for t in f["targets"]),
                  "filter %s targets a dataset of the bundle" % f["name"])


if __name__ == "__main__":
    {"compose": compose, "bundle": bundle}[sys.argv[1]](sys.argv[2])
