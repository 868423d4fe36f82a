import ArgumentParser
import HadronHTTP

/// The gateway a client tool talks to, from `--url` (or `HADRON_URL`), default `http://localhost:8080`. The tools
/// speak h2c to it — one connection, every request its own stream — which the gateway serves on its plain port.
struct GatewayURL {
    let address: String

    init(_ text: String) throws {
        guard text.hasPrefix("http://") else {
            throw ValidationError(
                "--url must be an http:// gateway URL (the client tools speak h2c; for https use curl), got \(text)")
        }
        var rest = text.dropFirst("http://".count)
        if let slash = rest.firstIndex(of: "/") { rest = rest[..<slash] }
        let hostPort = rest.contains(":") && !rest.hasSuffix("]") ? String(rest) : rest + ":80"
        guard let address = ServerAddress(hostPort) else { throw ValidationError("--url: cannot read host and port of \(text)") }
        self.address = address.description
    }
}
