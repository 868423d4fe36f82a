import ArgumentParser
import CloudEvents
import Foundation

/// Checks CloudEvents in the JSON format the way the gateway will, before anything is sent.
struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate a CloudEvent or a batch in the JSON format (a file, or standard input).")

    @Argument(help: "A file holding a JSON event or a JSON array of events; standard input when omitted.")
    var file: String?

    func run() throws {
        let body: [UInt8]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            body = [UInt8](data)
        } else {
            body = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        }
        let isBatch = body.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "[")
        do {
            let events = isBatch ? try JSONEventFormat.decodeBatch(body) : [try JSONEventFormat.decode(body)]
            print("valid: \(events.count) event\(events.count == 1 ? "" : "s")")
        } catch {
            print("invalid: \(error)")
            throw ExitCode(1)
        }
    }
}
