import Foundation

/// One event of a single watch connection, as the API server sends it.
public enum WatchEvent<R: KubeResource>: Sendable {
    case added(R)
    case modified(R)
    case deleted(R)
    /// Only a resourceVersion: nothing changed, but a watch may resume from here.
    case bookmark(resourceVersion: String)
    /// The server ended the watch with a `Status` (410 `Expired` when the resourceVersion is too old).
    case error(KubeStatus)

    private struct Header: Decodable {
        var type: String
    }

    private struct Envelope<Object: Decodable>: Decodable {
        var object: Object
    }

    private struct BookmarkObject: Decodable {
        struct Metadata: Decodable {
            var resourceVersion: String?
        }

        var metadata: Metadata
    }

    /// Decodes one line of a watch stream.
    public init(line: [UInt8]) throws {
        let decoder = JSONDecoder()
        let data = Data(line)
        let type: String
        do {
            type = try decoder.decode(Header.self, from: data).type
        } catch {
            throw WatchError.malformedEvent("\(error): \(String(decoding: line.prefix(200), as: UTF8.self))")
        }
        do {
            switch type {
            case "ADDED": self = .added(try decoder.decode(Envelope<R>.self, from: data).object)
            case "MODIFIED": self = .modified(try decoder.decode(Envelope<R>.self, from: data).object)
            case "DELETED": self = .deleted(try decoder.decode(Envelope<R>.self, from: data).object)
            case "BOOKMARK":
                let object = try decoder.decode(Envelope<BookmarkObject>.self, from: data).object
                guard let version = object.metadata.resourceVersion else {
                    throw WatchError.malformedEvent("BOOKMARK without metadata.resourceVersion")
                }
                self = .bookmark(resourceVersion: version)
            case "ERROR": self = .error(try decoder.decode(Envelope<KubeStatus>.self, from: data).object)
            default: throw WatchError.malformedEvent("unknown event type \(type)")
            }
        } catch let error as WatchError {
            throw error
        } catch {
            throw WatchError.malformedEvent("\(type): \(error)")
        }
    }
}
