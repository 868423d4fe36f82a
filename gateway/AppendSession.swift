import HadronHTTP
import HTTPTypes
import NIOCore
import Synchronization

/// A partition writer's append session with the partition's leader (docs/internal-api.md, `POST …/appends`): its
/// record batches go over one long-lived HTTP/2 stream, each answered before the next is sent, instead of a request
/// and a stream each.
///
/// Opening and tearing down a stream per batch — its pipeline here, and on the leader its pipeline, Hummingbird's
/// per-stream task and async channel — was a tenth of the leader's work and several percent of the gateway's under
/// single-event publish. A writer has one batch in flight at a time, which is what a session serves. Anything
/// unusual (no session yet, a session that broke, an answer other than 200) leaves the batch to the request path
/// and its retry loop, so a session adds no failure mode of its own: the leader deduplicates a batch sent again.
final class AppendSession: Sendable {
    let address: String
    let epoch: Int32
    private let session: SessionExchange
    /// Set while a batch is in flight, and for good once the session failed.
    private let busy = Atomic<Bool>(false)

    init(address: String, epoch: Int32, session: SessionExchange) {
        self.address = address
        self.epoch = epoch
        self.session = session
    }

    /// Why a session did not open.
    struct NotOpened: Error {
        /// The node does not serve append sessions at all (404 or 405: an older node, a test double).
        var unsupported: Bool
    }

    /// Opens a session with the leader at `address` for `stream`/`partition` at `epoch`. Throws ``NotOpened``
    /// when the node answers the head with anything but 200, and the connection's error when it cannot be reached.
    static func open(
        client: InternalClient, address: String, stream: String, partition: Int, epoch: Int32, timeout: Duration
    ) async throws -> AppendSession {
        switch try await SessionExchange.open(
            client: client, address: address, path: "/internal/v1/streams/\(stream)/partitions/\(partition)/appends",
            epoch: epoch, contentType: SessionWire.appendsContentType, timeout: timeout)
        {
        case .opened(let session):
            return AppendSession(address: address, epoch: epoch, session: session)
        case .refused(let answer):
            throw NotOpened(unsupported: [404, 405].contains(answer.status.code))
        }
    }

    /// Sends `batch` and calls `completion` once with the leader's answer, or nil when the session failed (it is
    /// then closed). Returns false, calling nothing, when a batch is already in flight or the session failed.
    func append(
        _ batch: ByteBuffer, timeout: Duration, completion: @escaping @Sendable (SessionWire.Answer?) -> Void
    ) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        let (length, bytes) = SessionWire.appendFrame(batch)
        session.send([length, bytes], timeout: timeout) { result in
            switch result {
            case .success(let answer):
                // A refusal ends the session at the leader: it stays busy, so nothing else is sent on it.
                if answer.status == .ok { self.busy.store(false, ordering: .releasing) }
                completion(answer)
            case .failure:
                self.close()
                completion(nil)
            }
        }
        return true
    }

    /// Ends the session; a batch in flight fails (its completion gets nil).
    func close() {
        busy.store(true, ordering: .releasing)
        session.close()
    }
}

/// The append session a partition writer holds, opened in the background on first use at each leader and epoch.
final class AppendSessionSlot: Sendable {
    private enum State {
        case none
        case opening(address: String, epoch: Int32)
        case open(AppendSession)
        /// The node at this address does not serve append sessions: its batches go as requests.
        case unsupported(address: String)
    }

    private let state = Mutex(State.none)

    /// The open session with the leader at `address` and `epoch`, if there is one. Otherwise nil, and unless one
    /// is being opened or the node does not serve sessions, `open` starts in a task of its own; a session with
    /// another leader or epoch is closed. A session that cannot open for another reason (a leader that does not
    /// know it leads yet, a connection failure) is tried again with a later batch.
    func session(
        address: String, epoch: Int32, open: @escaping @Sendable () async throws -> AppendSession
    ) -> AppendSession? {
        let (found, stale, opens) = state.withLock { state -> (AppendSession?, AppendSession?, Bool) in
            switch state {
            case .open(let session) where session.address == address && session.epoch == epoch:
                return (session, nil, false)
            case .opening(address, epoch), .unsupported(address):
                return (nil, nil, false)
            case .open(let session):
                state = .opening(address: address, epoch: epoch)
                return (nil, session, true)
            case .none, .opening, .unsupported:
                state = .opening(address: address, epoch: epoch)
                return (nil, nil, true)
            }
        }
        stale?.close()
        if opens {
            Task {
                let outcome: State
                let opened: AppendSession?
                do {
                    let session = try await open()
                    opened = session
                    outcome = .open(session)
                } catch let refusal as AppendSession.NotOpened where refusal.unsupported {
                    opened = nil
                    outcome = .unsupported(address: address)
                } catch {
                    opened = nil
                    outcome = .none
                }
                let kept = self.state.withLock { state -> Bool in
                    guard case .opening(address, epoch) = state else { return false }
                    state = outcome
                    return true
                }
                if !kept { opened?.close() }
            }
        }
        return found
    }

    /// Forgets `session` (it failed or was refused); the next batch opens a new one.
    func discard(_ session: AppendSession) {
        session.close()
        state.withLock { state in
            if case .open(let held) = state, held === session { state = .none }
        }
    }
}
