#!/usr/bin/env python3
"""The SQL Superset runs for each chart of a dashboard bundle directory.

    superset_sql.py BUNDLE_DIR     one JSON object per chart and line:
                                   {"chart": slice_name, "sql": ...}

Built from the YAML alone, as Superset's Postgres engine builds it: the
chart's dataset (table or virtual SQL), its saved or ad-hoc metrics, x-axis
and group-by columns (temporal ones truncated to the chart's time grain),
ad-hoc filters, ordering and row limit.  A chart using something this does
not know (an operator, a time grain, a time range other than "No filter")
is an error, so the test cannot pass by skipping it.
"""
import glob
import json
import os
import sys

import yaml

# Superset's PostgresEngineSpec: DATE_TRUNC per ISO-8601 time grain
GRAINS = {"PT1S": "second", "PT1M": "minute", "PT1H": "hour", "P1D": "day",
          "P1W": "week", "P1M": "month", "P3M": "quarter", "P1Y": "year"}
OPERATORS = {"==": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<=",
             "LIKE": "LIKE", "ILIKE": "ILIKE"}


def ident(name):
    return '"' + name.replace('"', '""') + '"'


def literal(value):
    if isinstance(value, bool) or value is None:
        raise ValueError("unsupported literal %r" % (value,))
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def load(pattern):
    return [yaml.safe_load(open(f, encoding="utf-8")) for f in sorted(glob.glob(pattern))]


def chart_sql(chart, dataset):
    p = chart["params"]
    columns = {c["column_name"]: c for c in dataset["columns"]}
    saved = {m["metric_name"]: m["expression"] for m in dataset["metrics"]}
    if dataset.get("sql"):
        source = "(%s) AS virtual_table" % dataset["sql"]
    else:
        source = "%s.%s" % (ident(dataset["schema"]), ident(dataset["table_name"]))

    def column(name):
        if name not in columns:
            raise ValueError("column %s is not in dataset %s" % (name, dataset["table_name"]))
        return columns[name]["expression"] or ident(name)

    def metric(m):
        if isinstance(m, str):
            if m not in saved:
                raise ValueError("metric %s is not in dataset %s" % (m, dataset["table_name"]))
            return saved[m], m
        if m["expressionType"] == "SQL":
            return m["sqlExpression"], m["label"]
        return "%s(%s)" % (m["aggregate"], column(m["column"]["column_name"])), m["label"]

    select, group, order = [], [], []
    if p.get("query_mode") == "raw":
        select = ["%s AS %s" % (column(c), ident(c)) for c in p["all_columns"]]
        for o in p.get("order_by_cols", []):
            name, ascending = json.loads(o)
            order.append("%s %s" % (column(name), "ASC" if ascending else "DESC"))
    else:
        dims = ([p["x_axis"]] if p.get("x_axis") else []) + list(p.get("groupby", []))
        for d in dims:
            expr = column(d)
            if columns[d]["is_dttm"] and p.get("time_grain_sqla"):
                expr = "DATE_TRUNC('%s', %s)" % (GRAINS[p["time_grain_sqla"]], expr)
            select.append("%s AS %s" % (expr, ident(d)))
            group.append(expr)
        metrics = [metric(m) for m in p["metrics"]]
        if not metrics:
            raise ValueError("an aggregate chart without metrics")
        select += ["%s AS %s" % (expr, ident(label)) for expr, label in metrics]
        if p.get("order_desc", True):
            order.append("%s DESC" % ident(metrics[0][1]))

    where = []
    for f in p.get("adhoc_filters", []):
        if f["expressionType"] == "SQL":
            where.append("(%s)" % f["sqlExpression"])
            continue
        op, subject, value = f["operator"], column(f["subject"]), f.get("comparator")
        if op == "TEMPORAL_RANGE":
            if value != "No filter":
                raise ValueError("time range %r is not supported here" % value)
        elif op in ("IN", "NOT IN"):
            where.append("%s %s (%s)" % (subject, op, ", ".join(literal(v) for v in value)))
        elif op in ("IS NULL", "IS NOT NULL"):
            where.append("%s %s" % (subject, op))
        elif op in OPERATORS:
            where.append("%s %s %s" % (subject, OPERATORS[op], literal(value)))
        else:
            raise ValueError("operator %s is not supported here" % op)

    sql = "SELECT %s FROM %s" % (", ".join(select), source)
    if where:
        sql += " WHERE " + " AND ".join(where)
    if group:
        sql += " GROUP BY " + ", ".join(group)
    if order:
        sql += " ORDER BY " + ", ".join(order)
    return sql + " LIMIT %d" % int(p.get("row_limit", 10000))


def main(bundle):
    datasets = {d["uuid"]: d for d in load(os.path.join(bundle, "datasets", "*", "*.yaml"))}
    charts = load(os.path.join(bundle, "charts", "*.yaml"))
    if not charts:
        sys.exit("no charts in %s" % bundle)
    for c in charts:
        print(json.dumps({"chart": c["slice_name"], "sql": chart_sql(c, datasets[c["dataset_uuid"]])}))


if __name__ == "__main__":
    main(sys.argv[1])
