"""Tally's transform on Spark: raw zone -> transformed zone, row for row what the DuckDB engine
writes for the same input, because it runs the same statements (src/infra/transform/transform.sql.ts,
spelled for Spark by its dialect). This file only reads, normalises, runs the given steps and writes.

Run by SparkTransformEngine: `spark-submit transform_job.py <work-dir>`. The work dir (local to the
driver) holds request.json; the job talks to the engine through it:

  1. read the raw objects into the view `raw` (JSON text columns normalised to DuckDB's
     re-serialization, a row id `rid` added), and the engine's prior_touch.parquet into `prior_touch`;
  2. run `steps` in order: a `table` step becomes a temp view (checkpointed when `materialize`);
     an `enrich` step writes its distinct keys to keys/<dim>, prints `TALLY_KEYS {"dim": ...}` and
     waits for dims/<dim>.ready: the engine computes dims/<dim>.parquet with the shared JS
     enrichment (user agents, URLs, attribution cannot be parsed identically in Python, so they
     are shared as data), read as the view `<dim>_dim`;
  3. write each output view to out/<table>/_dt=D/ (one file per date) and result.json, print
     `TALLY_RESULT`.
"""

import json
import os
import sys
import time

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from json_text import normalize_json_text

JSON_TEXT_FIELDS = ("consent", "params", "user_props")
SPARK_TYPES = {"string": "string", "int": "int", "bigint": "bigint", "double": "double", "boolean": "boolean", "date": "date"}
# JSON.stringify text that DuckDB re-serializes differently: lowercase \u00XX escapes, "e+" exponents.
NEEDS_NORMALIZING = r"\\u00[01][0-9a-f]|[0-9]e\+"


T0 = time.time()


def cpu_seconds():
    """CPU seconds used so far by the JVM (this driver's parent: spark-submit runs python from the JVM) and this process."""
    total = sum(os.times()[:2])
    try:
        with open(f"/proc/{os.getppid()}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return round(total, 1)


def say(kind, payload=None):
    if kind == "PROGRESS":
        # wall and CPU seconds since the job started: where a run's time goes, also on a loaded machine
        payload = {**payload, "s": round(time.time() - T0, 1), "cpu": cpu_seconds()}
    line = f"TALLY_{kind}" if payload is None else f"TALLY_{kind} {json.dumps(payload)}"
    print(line, flush=True)


def read_raw(spark, req, partitions):
    fields = req["rawFields"]
    names = [n for n, _ in fields]
    schema = ", ".join(f"{n} {t}" for n, t in fields)
    if not req["rawLocations"]:
        return spark.createDataFrame([], schema + ", rid bigint")
    df = spark.read.schema(schema).option("mode", "FAILFAST").json(req["rawLocations"])
    own = df.where((F.col("tenant_id") == req["tenantId"]) & (F.col("property_id") == req["propertyId"]))
    # Only the rare records with such text go through Python, and Python starts only when there are some.
    needs = F.lit(False)
    for c in JSON_TEXT_FIELDS:
        needs = needs | F.coalesce(F.col(c).rlike(NEEDS_NORMALIZING), F.lit(False))
    own = own.withColumn("_norm", needs).localCheckpoint()
    if own.where("_norm").limit(1).count():
        normalize = F.udf(normalize_json_text, StringType())
        odd = own.where("_norm").select(*[normalize(F.col(n)).alias(n) if n in JSON_TEXT_FIELDS else F.col(n) for n in names])
        own = own.where("NOT _norm").select(*names).unionByName(odd)
    else:
        own = own.select(*names)
    # rid: the row identity the statements join on (DuckDB's rowid), fixed by the checkpoint. The
    # statements join `raw` back by rid many times: hash-partitioned and sorted by rid into the
    # shuffle's partition count, those joins shuffle and sort only their other, narrow side.
    return (own.withColumn("rid", F.monotonically_increasing_id())
            .repartition(partitions, "rid").sortWithinPartitions("rid").localCheckpoint())


def is_literal(df):
    """The plan is rows written in the statement (the settings tables)."""
    return df._jdf.queryExecution().optimizedPlan().getClass().getSimpleName() == "LocalRelation"


def main():
    work = sys.argv[1]
    with open(os.path.join(work, "request.json")) as f:
        req = json.load(f)
    spark = SparkSession.builder.appName(f"tally-transform {req['tenantId']}/{req['propertyId']}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # Constraint inference is exponential in the aliases of the session windows (minutes of planning).
    spark.conf.set("spark.sql.constraintPropagation.enabled", "false")

    say("PROGRESS", {"step": "start"})
    raw = read_raw(spark, req, int(spark.conf.get("spark.sql.shuffle.partitions")))
    raw.createOrReplaceTempView("raw")
    raw_read = raw.count()
    say("PROGRESS", {"step": "read", "rawRead": raw_read})

    local = "file://" if "://" not in work else ""
    # each user's latest non-direct session before the window (last non-direct click), as the engine read it
    spark.read.parquet(local + req["priorTouch"]).createOrReplaceTempView("prior_touch")
    keys, dims = os.path.join(work, "keys"), os.path.join(work, "dims")
    deadline = time.time() + float(req.get("dimsTimeoutSeconds", 3600))
    for step in req["steps"]:
        if step["kind"] == "enrich":
            dim = step["dim"]
            spark.sql(step["keys"]).coalesce(1).write.parquet(local + os.path.join(keys, dim))
            say("KEYS", {"dim": dim})
            while not os.path.exists(os.path.join(dims, f"{dim}.ready")):
                if time.time() > deadline:
                    raise TimeoutError("the engine did not write the enrichment dims in time")
                time.sleep(0.05)
            spark.read.parquet(local + os.path.join(dims, f"{dim}.parquet")).createOrReplaceTempView(f"{dim}_dim")
            say("PROGRESS", {"step": f"{dim}_dim"})
        else:
            df = spark.sql(step["sql"])
            # Checkpoints cut the lineage: without them Catalyst spends minutes on the stacked plans.
            # (not the settings' literal rows: nothing to cut, and a checkpoint is a job)
            if step["materialize"] and not is_literal(df):
                df = df.localCheckpoint()
            df.createOrReplaceTempView(step["name"])
            say("PROGRESS", {"step": step["name"]})

    dates = sorted(set(req["dates"]))
    out = os.path.join(work, "out")
    counts = {}
    for spec in req["tables"]:
        table, columns, order = spec["name"], spec["columns"], spec["orderBy"]
        typed = spark.table(spec["view"]).where(F.col("local_date").isin([F.lit(d).cast("date") for d in dates])).select(
            *[F.col(c["name"]).cast(SPARK_TYPES[c["type"]]).alias(c["name"]) for c in columns],
            F.date_format("local_date", "yyyy-MM-dd").alias("_dt"),
        ).persist(StorageLevel.MEMORY_AND_DISK)
        counts[table] = {r["_dt"]: r["n"] for r in typed.groupBy("_dt").agg(F.count("*").alias("n")).collect()}
        # every row of a date in one task: one file per date, sorted like DuckDB's
        (typed.repartition(max(1, min(len(dates), 64)), "_dt").sortWithinPartitions("_dt", *order)
            .write.mode("overwrite").option("compression", "zstd").partitionBy("_dt")
            .parquet(local + os.path.join(out, table)))
        typed.unpersist()
        say("PROGRESS", {"step": f"write {table}"})

    result = {"rawRead": raw_read, "rows": counts}
    with open(os.path.join(work, "result.json"), "w") as f:
        json.dump(result, f)
    say("RESULT", result)
    spark.stop()


if __name__ == "__main__":
    main()
