import NIOCore
import NIOPosix

/// What kube-proxy does for a ClusterIP Service, on a loopback port: each new connection goes to the pod the Service
/// selects at that moment, and stays with it (connection tracking) however the selector moves afterwards. With no
/// ready endpoint, the connection is closed at once. The one part of a cluster's network the tests stand in for,
/// because the operator's per-partition Services are what gateways route through (DESIGN.md §6).
public final class ServiceProxy: Sendable {
    public let port: Int
    private let channel: any Channel

    /// - Parameter endpoint: the `HOST:PORT` (IPv4 or a name) a new connection goes to, nil when the Service has no ready endpoint.
    public static func start(endpoint: @escaping @Sendable () async -> String?) async throws -> ServiceProxy {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.autoRead, value: false)
            .childChannelInitializer { client in
                let loop = client.eventLoop
                let resolved = loop.makePromise(of: String?.self)
                resolved.completeWithTask { await endpoint() }
                resolved.futureResult.flatMap { address -> EventLoopFuture<any Channel> in
                    guard let address, let colon = address.lastIndex(of: ":"),
                        let port = Int(address[address.index(after: colon)...])
                    else {
                        return loop.makeFailedFuture(ChannelError.connectPending)
                    }
                    return ClientBootstrap(group: loop)
                        .channelOption(.autoRead, value: false)
                        .connect(host: String(address[..<colon]), port: port)
                }.flatMapThrowing { upstream in
                    let (near, far) = (Splice(), Splice())
                    near.partner = far
                    far.partner = near
                    try client.pipeline.syncOperations.addHandler(near)
                    try upstream.pipeline.syncOperations.addHandler(far)
                    client.setOption(.autoRead, value: true).whenComplete { _ in }
                    upstream.setOption(.autoRead, value: true).whenComplete { _ in }
                }.whenFailure { _ in client.close(promise: nil) }
                return loop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ServiceProxy(port: channel.localAddress!.port!, channel: channel)
    }

    private init(port: Int, channel: any Channel) {
        self.port = port
        self.channel = channel
    }

    public func stop() async {
        try? await channel.close()
    }
}

/// One side of a spliced connection pair on one event loop: what it reads, its partner writes; when either side
/// closes, so does the other.
private final class Splice: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    var partner: Splice?
    private var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        partner = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let peer = partner?.context else { return }
        peer.writeAndFlush(NIOAny(unwrapInboundIn(data)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        partner?.context?.close(promise: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
