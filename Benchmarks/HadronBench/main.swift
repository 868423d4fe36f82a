import Foundation

/// `make bench`: every figure as `BENCH <name> <value> <unit>`, every comparison as
/// `BENCH <name> ratio <value> vs <baseline>`, baselines measured in the same run.
/// `HADRON_BENCH_ONLY=cloudevents` (or `recordbatch`, `segmentlog`, `publish`) runs that group alone.
let onlyGroup = ProcessInfo.processInfo.environment["HADRON_BENCH_ONLY"]
if onlyGroup == nil || onlyGroup == "cloudevents" { runCloudEventsBenchmarks() }
if onlyGroup == nil || onlyGroup == "recordbatch" { runRecordBatchBenchmarks() }
if onlyGroup == nil || onlyGroup == "segmentlog" { try await runSegmentLogBenchmarks() }
if onlyGroup == nil || onlyGroup == "publish" { try await runPublishBenchmarks() }
