import Glibc
import HadronTestSupport
import Testing

@Suite(.serialized, .timeLimit(.minutes(2))) struct ShutdownTests {
    /// DESIGN.md §8: every server exits 0 on SIGTERM. A connection that never sent a byte (its protocol unknown)
    /// and a gateway's open topology watch on the controller must not hold shutdown up.
    @Test func serversExitOnSIGTERMDespiteIdleConnectionsAndWatches() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        try await HTTP1Connection.withIdle(port: path.gatewayPort) {
            path.gateway.send(SIGTERM)
            #expect(await path.gateway.waitForExit(timeout: .seconds(15)) == 0, "\(path.gateway.standardError)")
        }
        // The gateway is gone; the storage node still holds nothing open, the controller may still hold a watch.
        path.controller.send(SIGTERM)
        #expect(await path.controller.waitForExit(timeout: .seconds(15)) == 0, "\(path.controller.standardError)")
        path.storage.send(SIGTERM)
        #expect(await path.storage.waitForExit(timeout: .seconds(15)) == 0, "\(path.storage.standardError)")
    }

    @Test func theControllerExitsWhileAGatewayWatchesIt() async throws {
        let path = try await DataPath()
        defer { path.stop() }
        // The gateway follows the controller's SSE watch the whole time it runs.
        path.controller.send(SIGTERM)
        #expect(await path.controller.waitForExit(timeout: .seconds(15)) == 0, "\(path.controller.standardError)")
    }
}
