/// One rule a resource document breaks: the field at fault and a message that names the field, the value and
/// what to change.
///
/// The admission webhook and the local loader both report these, so a rule that holds everywhere is written
/// once and reads the same to a `kubectl apply` user and a `hadron dev -f` user.
public struct FieldViolation: Sendable, Hashable, CustomStringConvertible {
    /// The path of the field, as `kubectl explain` spells it (`spec.minInSyncReplicas`, `spec.filters[1].prefix`).
    public var field: String
    /// The whole sentence, starting with the field.
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { message }
}

/// The sizing rules of a Stream (DESIGN.md §5, §6) that hold wherever it is declared: Kubernetes or a local file.
public enum StreamRules {
    /// The default of `spec.minInSyncReplicas`: two where there are two replicas to agree, else one.
    public static func defaultMinInSyncReplicas(replicationFactor: Int) -> Int { min(2, replicationFactor) }

    /// Partitions, replication factor and minimum ISR, each with its fix. `nil` means the field is absent and its
    /// default applies (`partitions` has none: it is required).
    public static func sizingViolations(
        partitions: Int?, replicationFactor: Int?, minInSyncReplicas: Int?
    ) -> [FieldViolation] {
        var violations: [FieldViolation] = []
        if let partitions {
            if partitions < 1 {
                violations.append(
                    FieldViolation(
                        field: "spec.partitions",
                        message: "spec.partitions (\(partitions)) must be at least 1: set the number of partitions"))
            }
        } else {
            violations.append(
                FieldViolation(
                    field: "spec.partitions", message: "spec.partitions is required: set the number of partitions"))
        }
        let factor = replicationFactor ?? 1
        if factor < 1 {
            violations.append(
                FieldViolation(
                    field: "spec.replicationFactor",
                    message: "spec.replicationFactor (\(factor)) must be at least 1: set how many replicas "
                        + "each partition has"))
            return violations
        }
        let minimum = minInSyncReplicas ?? defaultMinInSyncReplicas(replicationFactor: factor)
        if minimum < 1 {
            violations.append(
                FieldViolation(
                    field: "spec.minInSyncReplicas",
                    message: "spec.minInSyncReplicas (\(minimum)) must be at least 1: raise minInSyncReplicas"))
        } else if minimum > factor {
            violations.append(
                FieldViolation(
                    field: "spec.minInSyncReplicas",
                    message: "spec.minInSyncReplicas (\(minimum)) must not exceed spec.replicationFactor "
                        + "(\(factor)): lower minInSyncReplicas or raise replicationFactor"))
        }
        return violations
    }
}
