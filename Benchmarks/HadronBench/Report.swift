import Foundation

/// Prints benchmark results in the one format scripts collect: `BENCH <name> <value> <unit>` for a figure and
/// `BENCH <name> ratio <value> vs <baseline>` for a comparison measured in the same run.
enum BenchReport {
    static func line(_ name: String, _ value: Double, _ unit: String) {
        print("BENCH \(name) \(format(value)) \(unit)")
    }

    static func ratio(_ name: String, _ value: Double, vs baseline: String) {
        print("BENCH \(name) ratio \(String(format: "%.3f", value)) vs \(baseline)")
    }

    private static func format(_ value: Double) -> String {
        value >= 100 ? String(format: "%.0f", value) : String(format: "%.3f", value)
    }
}

/// Runs `body` repeatedly for at least `minimumSeconds` (after one warm-up call) and returns units per second,
/// where each call returns the units it processed.
func measureRate(minimumSeconds: Double = 1.0, _ body: () -> Int) -> Double {
    _ = body()
    let clock = ContinuousClock()
    let start = clock.now
    var units = 0
    var elapsed = 0.0
    repeat {
        units += body()
        let duration = clock.now - start
        elapsed = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    } while elapsed < minimumSeconds
    return Double(units) / elapsed
}

/// Keeps a value alive so the optimiser cannot delete the work that produced it.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

/// `HADRON_BENCH_ONLY=<prefix>` narrows a run to the benchmarks whose names start with the prefix, so one figure
/// can be measured (or profiled) without waiting for the disk and network groups.
enum BenchFilter {
    private static let prefix = ProcessInfo.processInfo.environment["HADRON_BENCH_ONLY"]

    /// True when the benchmark (or the group) `name` should run: no filter, or the filter and the name agree on
    /// their common prefix (`cloudevents.binary` selects the group `cloudevents` and `cloudevents.binary.decode`).
    static func selects(_ name: String) -> Bool {
        guard let prefix else { return true }
        return name.hasPrefix(prefix) || prefix.hasPrefix(name + ".") || prefix == name
    }
}

/// The value below which `fraction` of `sorted` lies (nearest rank); nil for no values.
func percentile(_ fraction: Double, ofSorted sorted: [Double]) -> Double? {
    sorted.isEmpty ? nil : sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
}
