"""Java Hudi in the test suite: Spark-Hudi sessions (one JVM per Hudi version) as a judge."""
