/// ISO-8601 durations as Subscription and Endpoint specs write them (`PT0.2S`, `PT30S`, `P1DT2H`): the form
/// Knative's delivery spec uses, so manifests written for Knative carry over.
///
/// Years and months are refused rather than guessed: they have no fixed length, and a retry delay or a request
/// timeout must mean the same thing every time it is applied.
public enum ISO8601Duration {
    /// The duration `text` denotes, or a `ResourceError` naming `field` and the expected form.
    public static func parse(_ text: String, field: String) throws(ResourceError) -> Duration {
        let form = "an ISO-8601 duration like PT30S, PT0.2S, PT5M or P1DT12H"
        func refuse(_ reason: String) -> ResourceError {
            ResourceError("\(field): \"\(text)\" is not \(form): \(reason)")
        }
        var rest = Substring(text)
        guard rest.first == "P" else { throw refuse("it must start with 'P'") }
        rest = rest.dropFirst()
        guard !rest.isEmpty else { throw refuse("it has no components after 'P'") }
        var inTime = false
        var sawComponent = false
        var previousRank = -1
        var total = Duration.zero
        while !rest.isEmpty {
            if rest.first == "T" {
                guard !inTime else { throw refuse("'T' appears twice") }
                inTime = true
                rest = rest.dropFirst()
                guard !rest.isEmpty else { throw refuse("'T' must be followed by hours, minutes or seconds") }
                continue
            }
            let number = rest.prefix { ($0.isASCII && $0.isNumber) || $0 == "." || $0 == "," }
            guard !number.isEmpty, number.first != ".", number.first != "," else {
                throw refuse("expected a number at \"\(rest)\"")
            }
            rest = rest.dropFirst(number.count)
            guard let designator = rest.first else { throw refuse("\"\(number)\" needs a unit designator") }
            rest = rest.dropFirst()
            // Ranks enforce the order the standard requires: W, D, then (after T) H, M, S.
            let rank: Int
            let seconds: Int
            switch (inTime, designator) {
            case (false, "Y"), (false, "M"):
                throw refuse("years and months have no fixed length; use days (P30D) or weeks (P4W)")
            case (false, "W"): (rank, seconds) = (0, 7 * 86_400)
            case (false, "D"): (rank, seconds) = (1, 86_400)
            case (true, "H"): (rank, seconds) = (2, 3600)
            case (true, "M"): (rank, seconds) = (3, 60)
            case (true, "S"): (rank, seconds) = (4, 1)
            default:
                throw refuse("'\(designator)' is not a unit here (W or D before 'T'; H, M or S after it)")
            }
            guard rank > previousRank else { throw refuse("components must be in the order W, D, T, H, M, S") }
            let normalized = number.replacingOccurrences(of: ",", with: ".")
            guard let value = Double(normalized), value.isFinite else { throw refuse("\"\(number)\" is not a number") }
            if normalized.contains("."), rank != 4 {
                throw refuse("only seconds may have a fraction (write PT1.5S, not PT0.5M)")
            }
            previousRank = rank
            sawComponent = true
            let milliseconds = (value * 1000).rounded()
            // A trillion milliseconds of weeks is far beyond any delay and far inside Duration's range.
            guard milliseconds < 1e12 else { throw refuse("it is too long") }
            total += .milliseconds(Int64(milliseconds)) * seconds
        }
        guard sawComponent else { throw refuse("it has no components") }
        return total
    }
}
