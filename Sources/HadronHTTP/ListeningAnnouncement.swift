public import NIOCore

/// The ready line every server prints once it listens (DESIGN.md §8): `hadron <role> listening on http://HOST:PORT`,
/// with the real port when port 0 was asked for. Tests and `hadron dev` wait for this line, never for a delay.
public enum ListeningAnnouncement {
    public static func line(role: String, channel: any Channel, secure: Bool = false) -> String? {
        guard let address = boundAddress(of: channel) else { return nil }
        return "hadron \(role) listening on \(secure ? "https" : "http")://\(address)"
    }

    public static func boundAddress(of channel: any Channel) -> ServerAddress? {
        guard let local = channel.localAddress, let port = local.port else { return nil }
        return ServerAddress(host: local.ipAddress ?? "127.0.0.1", port: port)
    }
}
