import Foundation

/// `make bench`: every figure as `BENCH <name> <value> <unit>`, every comparison as
/// `BENCH <name> ratio <value> vs <baseline>`, baselines measured in the same run.
/// `HADRON_BENCH_ONLY=<prefix>` runs part of it: a group (`cloudevents`, `recordbatch`, `segmentlog`, `publish`,
/// `publish.rf1`, `publish.rf3`) or one CloudEvents benchmark (`cloudevents.binary.decode`).
/// `HADRON_BENCH_PACED=<host:port>@<rate>` instead drives single-event publishes at that rate against a gateway that is
/// already running (``PacedLoad``), for profiling a cluster started by hand.
/// A failure ends the run with its message and exit status 1, not a crash report.
do {
    if let target = ProcessInfo.processInfo.environment["HADRON_BENCH_PACED"] {
        try await runPacedLoad(target)
    } else {
        if BenchFilter.selects("cloudevents") { runCloudEventsBenchmarks() }
        if BenchFilter.selects("recordbatch") { runRecordBatchBenchmarks() }
        if BenchFilter.selects("segmentlog") { try await runSegmentLogBenchmarks() }
        if BenchFilter.selects("publish") { try await runPublishBenchmarks() }
    }
} catch {
    FileHandle.standardError.write(Data("HadronBench: \(error)\n".utf8))
    exit(1)
}
