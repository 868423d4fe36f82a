/// `make bench`: every figure as `BENCH <name> <value> <unit>`, every comparison as
/// `BENCH <name> ratio <value> vs <baseline>`, baselines measured in the same run.
runCloudEventsBenchmarks()
runRecordBatchBenchmarks()
try await runSegmentLogBenchmarks()
try await runPublishBenchmarks()
