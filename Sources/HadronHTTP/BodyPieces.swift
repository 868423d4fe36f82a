public import NIOCore

extension ByteBuffer {
    /// Adds one piece of a message body that arrives in pieces. The first piece is kept as it came, not copied:
    /// between the cluster's processes, frames of up to 1 MiB usually carry a whole record batch in one piece.
    /// Later pieces are copied after it.
    public mutating func collectBodyPiece(_ piece: inout ByteBuffer) {
        if readableBytes == 0 { self = piece } else { writeBuffer(&piece) }
    }
}
