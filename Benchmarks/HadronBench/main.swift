/// `make bench`: every figure as `BENCH <name> <value> <unit>`, every comparison as
/// `BENCH <name> ratio <value> vs <baseline>`, baselines measured in the same run.
/// `HADRON_BENCH_ONLY=<prefix>` runs part of it: a group (`cloudevents`, `recordbatch`, `segmentlog`, `publish`) or
/// one CloudEvents benchmark (`cloudevents.binary.decode`).
if BenchFilter.selects("cloudevents") { runCloudEventsBenchmarks() }
if BenchFilter.selects("recordbatch") { runRecordBatchBenchmarks() }
if BenchFilter.selects("segmentlog") { try await runSegmentLogBenchmarks() }
if BenchFilter.selects("publish") { try await runPublishBenchmarks() }
