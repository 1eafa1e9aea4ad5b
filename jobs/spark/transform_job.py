"""Tally's transform on Spark: raw zone -> transformed zone, row for row what the DuckDB engine
(src/infra/transform/transform.sql.ts) writes for the same input.

Run by SparkTransformEngine: `spark-submit transform_job.py <work-dir>`. The work dir (local to the
driver) holds request.json; the job talks to the engine through it:

  1. read, dedup, window, sessionize; write the distinct enrichment keys to keys/{ua,url,attr}
     and print `TALLY_KEYS`;
  2. wait for dims/_READY: the engine computes dims/{ua,url,attr}.parquet with the shared JS
     enrichment (user agents, URLs, attribution cannot be parsed identically in Python, so they
     are shared as data);
  3. join, aggregate, write out/{events,sessions,identities}/_dt=D/ (one file per date) and result.json,
     print `TALLY_RESULT`.
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

RAW_FIELDS = [
    ("event_id", "string"), ("tenant_id", "string"), ("property_id", "string"), ("protocol", "string"),
    ("received_at", "bigint"), ("client_ts", "bigint"), ("name", "string"),
    ("client_id", "string"), ("user_id", "string"), ("session_id", "string"),
    ("url", "string"), ("referrer", "string"), ("title", "string"),
    ("ua", "string"), ("ua_source", "string"), ("ip_trunc", "string"), ("ip_source", "string"),
    ("country", "string"), ("region", "string"), ("city", "string"), ("language", "string"), ("screen", "string"),
    ("consent", "string"), ("params", "string"), ("user_props", "string"),
]
JSON_TEXT_FIELDS = ("consent", "params", "user_props")
SPARK_TYPES = {"string": "string", "int": "int", "bigint": "bigint", "double": "double", "boolean": "boolean", "date": "date"}
# JSON.stringify text that DuckDB re-serializes differently: lowercase \u00XX escapes, "e+" exponents.
NEEDS_NORMALIZING = r"\\u00[01][0-9a-f]|[0-9]e\+"


def say(kind, payload=None):
    line = f"TALLY_{kind}" if payload is None else f"TALLY_{kind} {json.dumps(payload)}"
    print(line, flush=True)


def sql_string(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def read_raw(spark, req):
    schema = ", ".join(f"{n} {t}" for n, t in RAW_FIELDS)
    if not req["rawLocations"]:
        return spark.createDataFrame([], schema)
    df = spark.read.schema(schema).option("mode", "FAILFAST").json(req["rawLocations"])
    own = df.where((F.col("tenant_id") == req["tenantId"]) & (F.col("property_id") == req["propertyId"]))
    # Only the rare records with such text go through Python.
    needs = F.lit(False)
    for c in JSON_TEXT_FIELDS:
        needs = needs | F.coalesce(F.col(c).rlike(NEEDS_NORMALIZING), F.lit(False))
    own = own.withColumn("_norm", needs).localCheckpoint()
    normalize = F.udf(normalize_json_text, StringType())
    odd = own.where("_norm").select(
        *[normalize(F.col(n)).alias(n) if n in JSON_TEXT_FIELDS else F.col(n) for n, _ in RAW_FIELDS]
    )
    return own.where("NOT _norm").select(*[n for n, _ in RAW_FIELDS]).unionByName(odd).localCheckpoint()


def main():
    work = sys.argv[1]
    with open(os.path.join(work, "request.json")) as f:
        req = json.load(f)
    spark = SparkSession.builder.appName(f"tally-transform {req['tenantId']}/{req['propertyId']}").getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # Constraint inference is exponential in the aliases of the session windows (minutes of planning).
    spark.conf.set("spark.sql.constraintPropagation.enabled", "false")

    own = read_raw(spark, req)
    own.createOrReplaceTempView("own")
    raw_read = own.count()
    say("PROGRESS", {"step": "read", "rawRead": raw_read})

    # Dedup: the earliest receipt per event_id, ties by the smallest record text (DuckDB's to_json
    # of the row: every field, nulls included, in RAW_FIELDS order); then the event-time window.
    record = ", ".join(n for n, _ in RAW_FIELDS)
    ev = spark.sql(f"""
      WITH counted AS (SELECT *, count(*) OVER (PARTITION BY event_id) AS _copies FROM own),
      ranked AS (
        SELECT *, row_number() OVER (PARTITION BY event_id ORDER BY received_at,
            to_json(struct({record}), map('ignoreNullFields', 'false'))) AS _rank
        FROM counted WHERE _copies > 1
      ),
      kept AS (
        SELECT {record} FROM counted WHERE _copies = 1
        UNION ALL SELECT {record} FROM ranked WHERE _rank = 1
      )
      SELECT *, coalesce(client_ts, received_at) AS event_ms,
        coalesce(client_id, user_id, event_id) AS client_key,
        name IN ('page_view', 'screen_view') AS is_page_view,
        name = {sql_string(req['identityLinkEvent'])} AS is_link
      FROM kept
      WHERE coalesce(client_ts, received_at) >= {int(req['startMs'])}
        AND coalesce(client_ts, received_at) < {int(req['endMs'])}""")
    ev = ev.localCheckpoint()
    ev.createOrReplaceTempView("ev")

    timeout = int(req["timeoutMs"])
    sess = spark.sql(f"""
      WITH starts AS (
        SELECT ev.*,
          CASE WHEN session_id IS NULL
                AND (lag(event_ms) OVER w IS NULL OR event_ms - lag(event_ms) OVER w > {timeout})
               THEN event_ms END AS new_session_ms
        FROM ev
        WHERE NOT is_link
        WINDOW w AS (PARTITION BY client_key, session_id IS NULL ORDER BY event_ms, event_id)
      ),
      keyed AS (
        SELECT *,
          CASE WHEN session_id IS NOT NULL THEN client_key || ':' || session_id
               ELSE client_key || ':' || CAST(max(new_session_ms) OVER (
                 PARTITION BY client_key, session_id IS NULL ORDER BY event_ms, event_id
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS STRING)
          END AS session_key
        FROM starts
      )
      SELECT keyed.*,
        CAST(row_number() OVER s AS INT) AS seq_in_session,
        first(event_ms) OVER whole AS session_start_ms,
        first(event_id) OVER whole AS first_id,
        first(CASE WHEN is_page_view THEN event_id END, true) OVER whole AS entrance_id,
        last(CASE WHEN is_page_view THEN event_id END, true) OVER whole AS exit_id
      FROM keyed
      WINDOW s AS (PARTITION BY session_key ORDER BY event_ms, event_id),
        whole AS (PARTITION BY session_key ORDER BY event_ms, event_id
          ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)""").drop("new_session_ms")
    # Checkpoints cut the lineage: without them Catalyst spends minutes on the stacked plans.
    sess = sess.localCheckpoint()
    sess.createOrReplaceTempView("sess")

    attr_key = "concat('[', concat_ws(',', {}), ']')".format(", ".join(
        f"coalesce(to_json(variant_get(v, '$.{k}')), 'null')" for k in req["attributionParams"]
    ))
    first = spark.sql(f"""
      SELECT event_id AS first_id, url, referrer, {attr_key} AS attr_params
      FROM (SELECT *, parse_json(params) AS v FROM sess WHERE seq_in_session = 1)""").localCheckpoint()
    first.createOrReplaceTempView("sess_first")

    keys = os.path.join(work, "keys")
    local = "file://" if "://" not in work else ""
    spark.sql("SELECT DISTINCT ua, ua_source FROM sess").coalesce(1).write.parquet(local + os.path.join(keys, "ua"))
    spark.sql("SELECT DISTINCT url FROM sess WHERE url IS NOT NULL").coalesce(1).write.parquet(local + os.path.join(keys, "url"))
    spark.sql("SELECT DISTINCT url, referrer, attr_params FROM sess_first").coalesce(1).write.parquet(local + os.path.join(keys, "attr"))
    say("KEYS")

    dims = os.path.join(work, "dims")
    deadline = time.time() + float(req.get("dimsTimeoutSeconds", 3600))
    while not os.path.exists(os.path.join(dims, "_READY")):
        if time.time() > deadline:
            raise TimeoutError("the engine did not write the enrichment dims in time")
        time.sleep(0.05)
    for name in ("ua", "url", "attr"):
        spark.read.parquet(local + os.path.join(dims, f"{name}.parquet")).createOrReplaceTempView(f"{name}_dim")

    spark.sql("""
      SELECT f.first_id, a.source, a.medium, a.campaign, a.term, a.content, a.channel_group
      FROM sess_first f JOIN attr_dim a
        ON a.url <=> f.url AND a.referrer <=> f.referrer AND a.attr_params <=> f.attr_params
    """).createOrReplaceTempView("sess_attr")

    # Local time: the zone's offset segments from the engine (exact switch instants).
    segments = req["offsetSegments"]
    offset = F.lit(int(segments[0][1]))
    for from_ms, off in segments[1:]:
        offset = F.when(F.col("event_ms") >= F.lit(int(from_ms)), F.lit(int(off))).otherwise(offset)
    spark.table("sess").withColumn("local_ms", F.col("event_ms") + offset).createOrReplaceTempView("timed")
    spark.table("ev").withColumn("local_ms", F.col("event_ms") + offset).createOrReplaceTempView("ev_timed")

    key_events = req["keyEvents"]
    is_key = "false" if not key_events else "name IN ({})".format(", ".join(sql_string(k) for k in key_events))
    facts = spark.sql(f"""
      WITH j AS (
        SELECT t.*, get_json_object(params, '$.engagement_time_msec') AS eng_time,
          get_json_object(params, '$.session_engaged') AS eng_flag
        FROM timed t
      )
      SELECT j.*,
        date_from_unix_date(CAST(floor(local_ms / 86400000) AS INT)) AS local_date,
        CAST(floor(pmod(local_ms, 86400000) / 3600000) AS INT) AS local_hour,
        event_id <=> entrance_id AS is_entrance,
        event_id <=> exit_id AS is_exit,
        {is_key} AS is_key_event,
        coalesce(try_cast(greatest(try_cast(eng_time AS DOUBLE), 0D) AS BIGINT), 0L) AS engagement_time_ms,
        coalesce(eng_flag = '1', false) AS session_engaged,
        coalesce(u.is_bot, false) AS is_bot,
        u.browser, u.browser_version, u.os, u.os_version, u.device_category, u.bot_reason
      FROM j LEFT JOIN ua_dim u ON u.ua <=> j.ua AND u.ua_source <=> j.ua_source""")
    facts = facts.localCheckpoint()
    facts.createOrReplaceTempView("facts")

    events_out = spark.sql("""
      SELECT f.event_id, f.tenant_id, f.property_id, f.protocol, f.name AS event_name, f.event_ms, f.received_at,
        f.local_date, f.local_hour, f.client_id, f.user_id, f.session_key, f.session_start_ms, f.seq_in_session,
        f.is_entrance, f.is_exit,
        f.url AS page_location, p.host_name, p.page_path, p.page_query, f.title AS page_title,
        f.referrer AS page_referrer,
        p.utm_source, p.utm_medium, p.utm_campaign, p.utm_term, p.utm_content,
        a.source AS session_source, a.medium AS session_medium, a.campaign AS session_campaign,
        a.channel_group AS session_channel_group,
        f.country, f.region, f.city, f.language, f.screen,
        f.browser, f.browser_version, f.os, f.os_version, f.device_category,
        f.is_bot, f.bot_reason, f.engagement_time_ms, f.is_page_view, f.is_key_event,
        f.params, f.user_props
      FROM facts f
      LEFT JOIN url_dim p ON p.url = f.url
      LEFT JOIN sess_attr a ON a.first_id = f.first_id""")

    engaged_s = float(req["engagedSessionSeconds"])
    sessions_out = spark.sql(f"""
      WITH totals AS (
        SELECT first_id, any_value(entrance_id) AS entrance_id, any_value(exit_id) AS exit_id,
          min(CASE WHEN user_id IS NOT NULL THEN struct(seq_in_session, user_id) END).user_id AS user_id,
          max(event_ms) AS session_end_ms,
          CAST(max(event_ms) - min(event_ms) AS DOUBLE) / 1000D AS duration_s,
          count(*) FILTER (WHERE is_page_view) AS page_views,
          count(*) AS events,
          count(*) FILTER (WHERE is_key_event) AS key_events,
          sum(engagement_time_ms) AS engagement_time_ms,
          bool_or(session_engaged) AS any_session_engaged,
          bool_or(is_bot) AS is_bot
        FROM facts GROUP BY first_id
      )
      SELECT f.tenant_id, f.property_id, f.session_key, f.client_id,
        t.user_id, f.session_start_ms, t.session_end_ms, f.local_date, f.local_hour,
        coalesce(pe.page_path, '(not set)') AS landing_page, pe.page_query AS landing_page_query,
        coalesce(px.page_path, '(not set)') AS exit_page,
        a.source, a.medium, a.campaign, a.term, a.content, a.channel_group,
        f.referrer, f.country, f.region, f.city, f.language, f.device_category, f.browser, f.os,
        t.duration_s, t.page_views, t.events, t.key_events, t.engagement_time_ms,
        t.any_session_engaged OR t.duration_s > {engaged_s} OR t.page_views >= 2 OR t.key_events >= 1 AS engaged,
        t.is_bot
      FROM totals t
      JOIN facts f ON f.event_id = t.first_id
      LEFT JOIN sess_attr a ON a.first_id = t.first_id
      LEFT JOIN facts en ON en.event_id = t.entrance_id
      LEFT JOIN url_dim pe ON pe.url = en.url
      LEFT JOIN facts ex ON ex.event_id = t.exit_id
      LEFT JOIN url_dim px ON px.url = ex.url""")

    # Identity links are not events (excluded from sessions above) but pairs of ids, as are the
    # ids of any event carrying both.
    identities_out = spark.sql("""
      WITH links AS (
        SELECT tenant_id, property_id, event_id, event_ms,
          CASE WHEN is_link THEN coalesce(get_json_object(params, '$.client_id'), client_id) ELSE client_id END AS client_id,
          CASE WHEN is_link THEN coalesce(get_json_object(params, '$.user_id'), user_id) ELSE user_id END AS user_id,
          CASE WHEN is_link THEN coalesce(get_json_object(params, '$.link_kind'), 'identify') ELSE 'event' END AS link_kind,
          CASE WHEN is_link THEN coalesce(get_json_object(params, '$.source_protocol'), protocol) ELSE protocol END
            AS source_protocol,
          date_from_unix_date(CAST(floor(local_ms / 86400000) AS INT)) AS local_date
        FROM ev_timed
        WHERE is_link OR (client_id IS NOT NULL AND user_id IS NOT NULL)
      ),
      ranked AS (
        SELECT *, row_number() OVER (PARTITION BY client_id, user_id, local_date ORDER BY event_ms, event_id) AS _rank
        FROM links WHERE client_id <> '' AND user_id <> ''
      )
      SELECT tenant_id, property_id, client_id, user_id, event_ms AS linked_ms, local_date, link_kind, source_protocol, event_id
      FROM ranked WHERE _rank = 1""")

    dates = sorted(set(req["dates"]))
    out = os.path.join(work, "out")
    counts = {}
    frames = {"events": events_out, "sessions": sessions_out, "identities": identities_out}
    for spec in req["tables"]:
        table, df, columns, order = spec["name"], frames[spec["name"]], spec["columns"], spec["orderBy"]
        typed = df.where(F.col("local_date").isin([F.lit(d).cast("date") for d in dates])).select(
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
