import KubeAPI

/// Builds `metav1.Condition` lists whose `lastTransitionTime` moves only when a status does, so
/// computing the same conditions twice gives the same status (and no write).
struct ConditionSet {
    private(set) var conditions: [Condition] = []
    let previous: [Condition]
    let generation: Int?
    let now: String

    init(previous: [Condition]?, generation: Int?, now: String = ConditionSet.timestamp()) {
        self.previous = previous ?? []
        self.generation = generation
        self.now = now
    }

    mutating func set(_ type: String, _ status: Bool, reason: String, message: String) {
        let value = status ? "True" : "False"
        let since = previous.first { $0.type == type && $0.status == value }?.lastTransitionTime ?? now
        conditions.append(
            Condition(
                type: type, status: value, observedGeneration: generation, lastTransitionTime: since, reason: reason,
                message: message))
    }

    /// RFC 3339 in whole seconds, as `metav1.Time` serializes.
    static func timestamp() -> String { String(MicroTime.now().description.prefix(19)) + "Z" }
}
