import CloudEvents
import HTTPTypes
import Testing

/// Decodes a structured-mode JSON text.
func structured(_ json: String) throws(CloudEventError) -> CloudEvent {
    try JSONEventFormat.decode(Array(json.utf8))
}

/// Builds header fields from name/value pairs, as an HTTP server would hand them over.
func fields(_ pairs: [(String, String)]) -> HTTPFields {
    var fields = HTTPFields()
    for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, lenientValue: Array(value.utf8))) }
    return fields
}

/// The minimal valid binary-mode headers, plus `extra`.
func binaryHeaders(_ extra: [(String, String)] = []) -> HTTPFields {
    fields([("ce-specversion", "1.0"), ("ce-id", "1"), ("ce-source", "/src"), ("ce-type", "t")] + extra)
}

/// Expects `body` to throw a CloudEventError with `code` (and `attribute`, when given).
func expectError(
    _ code: CloudEventError.Code, attribute: String? = nil, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected \(code), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as CloudEventError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        if let attribute { #expect(error.attribute == attribute, "\(error)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("expected a CloudEventError, got \(error)", sourceLocation: sourceLocation)
    }
}

let minimal = #"{"specversion":"1.0","id":"1","source":"/src","type":"t""#
