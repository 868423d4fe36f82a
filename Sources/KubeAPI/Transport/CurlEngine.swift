import CCurl
import Foundation
import Synchronization

/// Runs every libcurl transfer of the process on one dedicated thread around a `curl_multi` handle.
///
/// `curl_easy_perform` blocks, and Swift's cooperative pool has as many threads as cores (two here):
/// a few blocking watches would starve every task. One multi loop serves any number of concurrent
/// requests and watches, multiplexes requests over HTTP/2 when the server offers it (each watch has an HTTP/1.1
/// connection of its own, see `CurlTransfer.makeHandle`), and wakes promptly
/// (`curl_multi_wakeup`) when a transfer is added or cancelled.
public final class CurlEngine: Sendable {
    private enum Command {
        case start(CurlTransfer)
        case cancel(CurlTransfer)
    }

    /// `@unchecked Sendable`: the multi handle is used only on the engine thread, except for
    /// `curl_multi_wakeup`, which libcurl documents as callable from any thread.
    private struct MultiHandle: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
    }

    private let multi: MultiHandle
    private let commands = Mutex<[Command]>([])

    /// Loads libcurl on first use (it is not linked: see CCurl.h) and starts the engine thread; `nil` when libcurl
    /// cannot be loaded, with what failed kept for ``shared()`` to throw.
    private init?() {
        if let failure = hadron_curl_load() {
            CurlEngine.failure.withLock { $0 = String(cString: failure) }
            return nil
        }
        guard let pointer = hadron_curl_multi_init() else {
            CurlEngine.failure.withLock { $0 = "curl_multi_init failed" }
            return nil
        }
        _ = hadron_curl_multi_setopt_long(pointer, CURLMOPT_PIPELINING, Int(CURLPIPE_MULTIPLEX))
        multi = MultiHandle(pointer: pointer)
        let thread = Thread { [self] in self.runLoop() }
        thread.name = "hadron-curl"
        thread.start()
    }

    private static let failure = Mutex<String?>(nil)

    /// The process-wide engine, or the error that says why libcurl could not be loaded.
    public static func shared() throws -> CurlEngine {
        guard let engine = loaded else {
            throw TransportError.setup(failure.withLock { $0 } ?? "libcurl could not be loaded")
        }
        return engine
    }

    /// The engine's thread starts on first use and lives as long as the process.
    private static let loaded = CurlEngine()

    /// Sends a request and reads the whole response.
    public func perform(_ request: HTTPRequestSpec, tls: TLSSettings) async throws -> HTTPResponseData {
        let transfer = CurlTransfer(request: request, tls: tls)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.sink = .buffered(continuation)
                submit(.start(transfer))
            }
        } onCancel: {
            self.cancel(transfer)
        }
    }

    /// Sends a request and returns once the response head has arrived; the body streams after.
    /// Ending iteration of the body (or cancelling the task iterating it) aborts the transfer.
    public func stream(_ request: HTTPRequestSpec, tls: TLSSettings) async throws -> HTTPStreamingResponse {
        let transfer = CurlTransfer(request: request, tls: tls)
        let (body, bodyContinuation) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        bodyContinuation.onTermination = { [weak self] termination in
            if case .cancelled = termination { self?.cancel(transfer) }
        }
        let head = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                transfer.sink = .streaming(head: continuation, body: bodyContinuation)
                submit(.start(transfer))
            }
        } onCancel: {
            self.cancel(transfer)
        }
        return HTTPStreamingResponse(head: head, body: body)
    }

    private func cancel(_ transfer: CurlTransfer) {
        transfer.cancelled.store(true, ordering: .relaxed)
        submit(.cancel(transfer))
    }

    private func submit(_ command: Command) {
        commands.withLock { $0.append(command) }
        _ = hadron_curl_multi_wakeup(multi.pointer)
    }

    private func runLoop() {
        var active: [UnsafeMutableRawPointer: CurlTransfer] = [:]
        while true {
            let pending = commands.withLock { queue -> [Command] in
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            for command in pending {
                switch command {
                case .start(let transfer):
                    if transfer.cancelled.load(ordering: .relaxed) {
                        transfer.finish(failure: CancellationError())
                        continue
                    }
                    do {
                        let easy = try transfer.makeHandle()
                        let code = hadron_curl_multi_add_handle(multi.pointer, easy)
                        if code != CURLM_OK {
                            throw TransportError.setup(
                                "curl_multi_add_handle: \(String(cString: hadron_curl_multi_strerror(code)))")
                        }
                        active[easy] = transfer
                    } catch {
                        transfer.finish(failure: error)
                    }
                case .cancel(let transfer):
                    // A transfer that already completed, or was never started, is not in `active`.
                    guard let easy = transfer.easy, active.removeValue(forKey: easy) != nil else { continue }
                    hadron_curl_multi_remove_handle(multi.pointer, easy)
                    transfer.finish(failure: CancellationError())
                }
            }

            var running: Int32 = 0
            _ = hadron_curl_multi_perform(multi.pointer, &running)

            var queued: Int32 = 0
            while let message = hadron_curl_multi_info_read(multi.pointer, &queued) {
                guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
                let result = hadron_curl_msg_result(message)
                guard let transfer = active.removeValue(forKey: easy) else { continue }
                hadron_curl_multi_remove_handle(multi.pointer, easy)
                transfer.complete(result: result)
            }

            _ = hadron_curl_multi_poll(multi.pointer, nil, 0, 1000, nil)
        }
    }
}
