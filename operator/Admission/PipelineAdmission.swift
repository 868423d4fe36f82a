import HadronCore
public import KubeAPI

/// The rules of a Pipeline its CRD schema cannot express: trigger patterns, and stages that form a DAG —
/// unique names, dependencies that exist, no cycles (a cycle would never start).
public enum PipelineAdmission {
    public static func validate(_ pipeline: HadronPipeline, old: HadronPipeline?) -> AdmissionFindings {
        var findings = AdmissionFindings()
        SpecRules.dottedName(pipeline.metadata.name, kind: "Pipeline", into: &findings)
        guard let spec = pipeline.spec else {
            findings.deny("spec", "spec is required: set spec.stream and spec.stages")
            return findings
        }
        SpecRules.reference(
            spec.stream, field: "spec.stream", what: "stream that triggers the pipeline", into: &findings)
        for (index, trigger) in (spec.triggers ?? []).enumerated() {
            do { _ = try NamePattern(parsing: trigger) } catch {
                findings.deny(
                    "spec.triggers[\(index)]",
                    "spec.triggers[\(index)]: \(error.message); write an event type pattern like com.example.order.>")
            }
        }
        stages(spec.stages ?? [], into: &findings)
        return findings
    }

    private static func stages(_ stages: [HadronPipeline.Stage], into findings: inout AdmissionFindings) {
        var firstIndex: [String: Int] = [:]
        for (index, stage) in stages.enumerated() {
            let path = "spec.stages[\(index)].name"
            do { try DNSName.validateLabel(stage.name) } catch {
                findings.deny(path, "\(path): \(error.message)")
            }
            if let earlier = firstIndex[stage.name] {
                findings.deny(
                    path,
                    "\(path) \"\(stage.name)\" is also the name of spec.stages[\(earlier)]: stage names must be "
                        + "unique; rename one")
            } else {
                firstIndex[stage.name] = index
            }
        }
        for (index, stage) in stages.enumerated() {
            for dependency in stage.dependencies ?? [] {
                let path = "spec.stages[\(index)].dependencies"
                if dependency == stage.name {
                    findings.deny(path, "\(path): stage \"\(stage.name)\" depends on itself: remove \"\(dependency)\"")
                } else if firstIndex[dependency] == nil {
                    let known = stages.map(\.name).joined(separator: ", ")
                    findings.deny(
                        path,
                        "\(path): stage \"\(stage.name)\" depends on \"\(dependency)\", which is not a stage of this "
                            + "pipeline (stages: \(known))")
                }
            }
        }
        if let cycle = findCycle(stages) {
            findings.deny(
                "spec.stages",
                "spec.stages: the dependencies form a cycle (\(cycle.joined(separator: " → "))), so none of these "
                    + "stages could ever start: remove one of the dependencies")
        }
    }

    /// A dependency cycle (longer than a self-dependency, reported on its own), as the stage names along it with
    /// the first repeated at the end; nil when the stages form a DAG.
    static func findCycle(_ stages: [HadronPipeline.Stage]) -> [String]? {
        var dependencies: [String: [String]] = [:]
        for stage in stages where dependencies[stage.name] == nil {
            dependencies[stage.name] = (stage.dependencies ?? []).filter { $0 != stage.name }
        }
        enum Mark { case visiting, done }
        var marks: [String: Mark] = [:]
        var path: [String] = []
        func visit(_ name: String) -> [String]? {
            switch marks[name] {
            case .done: return nil
            case .visiting:
                let start = path.firstIndex(of: name)!
                return Array(path[start...]) + [name]
            case nil: break
            }
            marks[name] = .visiting
            path.append(name)
            for next in dependencies[name] ?? [] where dependencies[next] != nil {
                if let cycle = visit(next) { return cycle }
            }
            path.removeLast()
            marks[name] = .done
            return nil
        }
        for stage in stages {
            if let cycle = visit(stage.name) { return cycle }
        }
        return nil
    }
}
