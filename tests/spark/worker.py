"""A Spark-Hudi session in its own process, serving requests from the test process.

Started by ``tests.spark.client.SparkHudi`` as ``python -m tests.spark.worker <jar> <workdir>``.
One worker holds one JVM with one Hudi bundle (jars cannot be swapped inside a JVM), so the
suite runs a worker per Hudi version side by side. Requests arrive as JSON lines on stdin;
answers leave as JSON lines on the protocol pipe (the original stdout: the JVM and Spark log to
stderr). Query results are written as Arrow IPC files, so types survive exactly as Spark's
Arrow conversion gives them (session time zone UTC).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any

import pyarrow as pa


def _session(jar: str, workdir: str) -> Any:
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master("local[2]")
        .appName("hudiwrite-tests")
        .config("spark.jars", jar)
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config("spark.kryo.registrator", "org.apache.spark.HoodieSparkKryoRegistrar")
        .config("spark.sql.extensions", "org.apache.spark.sql.hudi.HoodieSparkSessionExtension")
        .config(
            "spark.sql.catalog.spark_catalog", "org.apache.spark.sql.hudi.catalog.HoodieCatalog"
        )
        .config("spark.driver.memory", os.environ.get("HUDIWRITE_SPARK_MEMORY", "1g"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.warehouse.dir", os.path.join(workdir, "warehouse"))
        .config("spark.local.dir", os.path.join(workdir, "local"))
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={workdir}/derby")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _arrow_of(df: Any) -> pa.Table:
    from pyspark.sql.pandas.types import to_arrow_schema

    schema = to_arrow_schema(df.schema)
    batches = df._collect_as_arrow()
    return pa.Table.from_batches(batches, schema=schema) if batches else schema.empty_table()


def _write_ipc(table: pa.Table, out: str) -> None:
    with pa.OSFile(out, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _handle(spark: Any, request: dict[str, Any]) -> dict[str, Any]:
    op = request["op"]
    if op == "ping":
        return {"version": spark.version}
    if op == "read":
        reader = spark.read.format("hudi")
        for key, value in request.get("options", {}).items():
            reader = reader.option(key, value)
        df = reader.load(request["path"])
        if request.get("columns"):
            df = df.select(*request["columns"])
        table = _arrow_of(df)
        _write_ipc(table, request["out"])
        return {"rows": table.num_rows}
    if op == "sql":
        df = spark.sql(request["query"])
        table = _arrow_of(df)
        if request.get("out"):
            _write_ipc(table, request["out"])
        return {"rows": table.num_rows}
    if op == "write":
        df = spark.read.parquet(request["input"])
        if request.get("schema_ddl"):
            df = spark.createDataFrame(df.rdd, request["schema_ddl"])
        writer = df.write.format("hudi")
        for key, value in request.get("options", {}).items():
            writer = writer.option(key, value)
        writer.mode(request.get("mode", "append")).save(request["path"])
        return {}
    raise ValueError(f"unknown request {op!r}")


def main() -> int:
    jar, workdir = sys.argv[1], sys.argv[2]
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)  # everything else printed (the JVM's output too) goes to the log
    sys.stdout = sys.stderr
    try:
        spark = _session(jar, workdir)
        proto.write(json.dumps({"ok": True, "version": spark.version}) + "\n")
    except Exception as exc:
        proto.write(json.dumps({"ok": False, "error": repr(exc)}) + "\n")
        return 1
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") == "stop":
            break
        try:
            answer = {"ok": True, **_handle(spark, request)}
        except Exception as exc:
            message = str(exc)
            answer = {
                "ok": False,
                "error": type(exc).__name__,
                "message": message[:20000],
                "traceback": traceback.format_exc()[-4000:],
            }
        proto.write(json.dumps(answer) + "\n")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
