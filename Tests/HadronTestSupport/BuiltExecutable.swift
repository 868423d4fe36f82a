import Foundation

/// Finds an executable of this package built next to the running tests, whatever the scratch path.
public enum BuiltExecutable {
    /// Looked for next to this process, then under every `.build*` directory of the package.
    public static func path(named name: String, filePath: String = #filePath) -> String? {
        var candidates: [String] = []
        if let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            candidates.append((executable as NSString).deletingLastPathComponent + "/" + name)
        }
        candidates.append((CommandLine.arguments[0] as NSString).deletingLastPathComponent + "/" + name)
        var directory = URL(fileURLWithPath: filePath).deletingLastPathComponent()
        while directory.path != "/",
            !FileManager.default.fileExists(atPath: directory.appendingPathComponent("Package.swift").path)
        {
            directory = directory.deletingLastPathComponent()
        }
        let builds = (try? FileManager.default.contentsOfDirectory(atPath: directory.path))?.filter {
            $0.hasPrefix(".build")
        } ?? []
        for build in builds.sorted() {
            let root = directory.appendingPathComponent(build).path
            candidates.append(root + "/debug/" + name)
            for triple in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
                candidates.append(root + "/" + triple + "/debug/" + name)
            }
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
