import Foundation

/// Flags also read `HADRON_*` environment variables (DESIGN.md §8): the flag name in upper case, `-` as `_`,
/// `HADRON_` in front (`--data-dir` ↔ `HADRON_DATA_DIR`). A flag given on the command line wins.
enum HadronEnvironment {
    static func value(forFlag flag: String) -> String? {
        let name = "HADRON_" + flag.uppercased().replacingOccurrences(of: "-", with: "_")
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { return nil }
        return value
    }

    /// The environment's value for `flag`, else `fallback`: the default of an `@Option`.
    static func value(forFlag flag: String, default fallback: String) -> String {
        value(forFlag: flag) ?? fallback
    }
}
