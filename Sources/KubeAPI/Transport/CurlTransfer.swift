import CCurl
import Synchronization

/// One HTTP exchange inside the `CurlEngine`: the easy handle, its C callbacks, and the Swift
/// continuation its result goes to.
///
/// `@unchecked Sendable`: the submitting task writes `sink` before handing the transfer to the engine
/// through the engine's mutex (a happens-before edge); from then on every mutable field is touched
/// only on the engine thread. The one exception is `cancelled`, an atomic.
final class CurlTransfer: @unchecked Sendable {
    enum Sink {
        case none
        case buffered(CheckedContinuation<HTTPResponseData, any Error>)
        case streaming(
            head: CheckedContinuation<HTTPResponseHead, any Error>,
            body: AsyncThrowingStream<[UInt8], any Error>.Continuation
        )
    }

    let request: HTTPRequestSpec
    let tls: TLSSettings
    let cancelled = Atomic<Bool>(false)
    var sink: Sink = .none

    private(set) var easy: UnsafeMutableRawPointer?
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private var status = 0
    private var headers: [String: String] = [:]
    private var headDelivered = false
    private var body: [UInt8] = []
    private var retainedSelf: Unmanaged<CurlTransfer>?

    init(request: HTTPRequestSpec, tls: TLSSettings) {
        self.request = request
        self.tls = tls
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE))
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
    }

    deinit {
        errorBuffer.deallocate()
    }

    /// Creates and configures the easy handle. Engine thread only.
    func makeHandle() throws -> UnsafeMutableRawPointer {
        guard let easy = hadron_curl_easy_init() else { throw TransportError.setup("curl_easy_init failed") }
        self.easy = easy
        let context = Unmanaged.passRetained(self)
        retainedSelf = context
        let opaque = context.toOpaque()

        var failed: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if code != CURLE_OK, failed == CURLE_OK { failed = code } }

        check(hadron_curl_easy_setopt_string(easy, CURLOPT_URL, request.url))
        check(hadron_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1))
        check(hadron_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer))
        if request.timeout == nil {
            // A stream that stays open (a watch) gets an HTTP/1.1 connection of its own, which ends with it. Over
            // a shared HTTP/2 connection, ending it early must reset its stream, and libcurl 7.88 (Debian 12) only
            // queues that RST_STREAM (curl issue 17611, fixed in 8.15): with no other transfer on the connection,
            // the API server went on streaming a cancelled watch indefinitely.
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        } else {
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_2TLS)))
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1))
        }
        check(hadron_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1))
        check(hadron_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, 10_000))
        if let timeout = request.timeout {
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, max(1, timeout.milliseconds)))
        }

        switch request.method {
        case "GET":
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1))
        default:
            check(hadron_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method))
            if let body = request.body {
                check(hadron_curl_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, body.count))
                // COPYPOSTFIELDS copies the bytes, so the buffer may go away after this call; it needs a
                // valid pointer even for an empty body.
                let payload: [UInt8] = body.isEmpty ? [0] : body
                payload.withUnsafeBytes { raw in
                    check(
                        hadron_curl_easy_setopt_pointer(
                            easy, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: raw.baseAddress)))
                }
            } else if request.method == "HEAD" {
                check(hadron_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1))
            }
        }

        // An empty `Expect:` stops libcurl from waiting for `100 Continue` on request bodies.
        var list = hadron_curl_slist_append(nil, "Expect:")
        for header in request.headers {
            list = hadron_curl_slist_append(list, "\(header.name): \(header.value)")
        }
        headerList = list
        check(hadron_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list))

        if let ca = tls.certificateAuthorityPEM {
            ca.withUnsafeBytes {
                check(hadron_curl_easy_setopt_blob(easy, CURLOPT_CAINFO_BLOB, $0.baseAddress, $0.count))
            }
        }
        if let certificate = tls.clientCertificatePEM {
            check(hadron_curl_easy_setopt_string(easy, CURLOPT_SSLCERTTYPE, "PEM"))
            certificate.withUnsafeBytes {
                check(hadron_curl_easy_setopt_blob(easy, CURLOPT_SSLCERT_BLOB, $0.baseAddress, $0.count))
            }
        }
        if let key = tls.clientKeyPEM {
            check(hadron_curl_easy_setopt_string(easy, CURLOPT_SSLKEYTYPE, "PEM"))
            key.withUnsafeBytes {
                check(hadron_curl_easy_setopt_blob(easy, CURLOPT_SSLKEY_BLOB, $0.baseAddress, $0.count))
            }
        }
        if tls.insecureSkipVerify {
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYPEER, 0))
            check(hadron_curl_easy_setopt_long(easy, CURLOPT_SSL_VERIFYHOST, 0))
        }

        check(
            hadron_curl_easy_setopt_data_function(easy, CURLOPT_WRITEFUNCTION) { data, size, count, context in
                guard let context, let data else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveBody(UnsafeRawBufferPointer(start: data, count: size * count))
            })
        check(hadron_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, opaque))
        check(
            hadron_curl_easy_setopt_data_function(easy, CURLOPT_HEADERFUNCTION) { data, size, count, context in
                guard let context, let data else { return 0 }
                let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
                return transfer.receiveHeader(UnsafeRawBufferPointer(start: data, count: size * count))
            })
        check(hadron_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, opaque))

        if failed != CURLE_OK {
            throw TransportError.setup("curl_easy_setopt: \(String(cString: hadron_curl_easy_strerror(failed)))")
        }
        return easy
    }

    private func receiveHeader(_ bytes: UnsafeRawBufferPointer) -> Int {
        if cancelled.load(ordering: .relaxed) { return 0 }
        let line = String(decoding: bytes, as: UTF8.self).trimmingSuffix()
        if line.hasPrefix("HTTP/") {
            // A new status line (after `100 Continue`) starts a new header block.
            headers = [:]
            let fields = line.split(separator: " ", maxSplits: 2)
            status = fields.count > 1 ? Int(fields[1]) ?? 0 : 0
        } else if line.isEmpty {
            if status >= 200 { deliverHead() }
        } else if let colon = line.firstIndex(of: ":") {
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].drop(while: { $0 == " " || $0 == "\t" })
            headers[name] = String(value)
        }
        return bytes.count
    }

    private func receiveBody(_ bytes: UnsafeRawBufferPointer) -> Int {
        if cancelled.load(ordering: .relaxed) { return 0 }
        switch sink {
        case .streaming(_, let continuation):
            deliverHead()
            if bytes.count > 0 { continuation.yield(Array(bytes)) }
        default:
            body.append(contentsOf: bytes)
        }
        return bytes.count
    }

    private func makeHead() -> HTTPResponseHead {
        var version = 0
        if let easy {
            _ = hadron_curl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        }
        let major = version >= Int(CURL_HTTP_VERSION_2_0) ? 2 : 1
        return HTTPResponseHead(status: status, headers: headers, httpMajorVersion: major)
    }

    private func deliverHead() {
        guard !headDelivered else { return }
        headDelivered = true
        if case .streaming(let head, _) = sink {
            head.resume(returning: makeHead())
        }
    }

    /// Resolves the continuation and frees the handle. Engine thread only; called exactly once.
    func complete(result: CURLcode) {
        let failure: (any Error)?
        if cancelled.load(ordering: .relaxed) {
            failure = CancellationError()
        } else if result != CURLE_OK {
            let detail = String(cString: errorBuffer)
            let text = detail.isEmpty ? String(cString: hadron_curl_easy_strerror(result)) : detail
            failure = TransportError.curl(
                code: Int(result.rawValue), message: "\(request.method) \(request.url): \(text)")
        } else {
            failure = nil
        }
        finish(failure: failure)
    }

    /// Completes a transfer that never reached libcurl, or that the engine aborted.
    func finish(failure: (any Error)?) {
        switch sink {
        case .none:
            break
        case .buffered(let continuation):
            if let failure {
                continuation.resume(throwing: failure)
            } else {
                continuation.resume(returning: HTTPResponseData(head: makeHead(), body: body))
            }
        case .streaming(let head, let bodyContinuation):
            if !headDelivered {
                headDelivered = true
                if let failure {
                    head.resume(throwing: failure)
                } else {
                    head.resume(returning: makeHead())
                }
            }
            bodyContinuation.finish(throwing: failure)
        }
        sink = .none
        release()
    }

    private func release() {
        if let easy { hadron_curl_easy_cleanup(easy) }
        easy = nil
        if let headerList { hadron_curl_slist_free_all(headerList) }
        headerList = nil
        retainedSelf?.release()
        retainedSelf = nil
    }
}

extension String {
    fileprivate func trimmingSuffix() -> String {
        var view = Substring(self)
        while let last = view.last, last == "\r" || last == "\n" { view.removeLast() }
        return String(view)
    }
}

extension Duration {
    /// Whole milliseconds, rounded up (libcurl's timeouts are in milliseconds).
    var milliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int((attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000)
    }
}
