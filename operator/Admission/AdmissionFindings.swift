public import HadronCore

/// What validating one object found: the violations that deny it and the warnings that go back to the user
/// with an allowed request (`kubectl` prints them as `Warning: …`).
///
/// Validators collect every violation rather than stopping at the first, so one `kubectl apply` shows the user
/// everything to fix.
public struct AdmissionFindings: Sendable, Equatable {
    public var violations: [FieldViolation] = []
    public var warnings: [String] = []

    public init(violations: [FieldViolation] = [], warnings: [String] = []) {
        self.violations = violations
        self.warnings = warnings
    }

    public var isAllowed: Bool { violations.isEmpty }

    /// The message of a denial: every violation, in the order found.
    public var message: String { violations.map(\.message).joined(separator: "; ") }

    mutating func deny(_ field: String, _ message: String) {
        violations.append(FieldViolation(field: field, message: message))
    }

    mutating func warn(_ message: String) {
        warnings.append(message)
    }

    mutating func merge(_ other: AdmissionFindings) {
        violations += other.violations
        warnings += other.warnings
    }

    /// Runs a check that throws a `ResourceError` whose message already names `field`.
    mutating func check(_ field: String, _ body: () throws(ResourceError) -> Void) {
        do { try body() } catch { deny(field, error.message) }
    }
}
