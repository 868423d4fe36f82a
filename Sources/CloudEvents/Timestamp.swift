/// An RFC 3339 timestamp, kept as the producer wrote it.
///
/// Keeping the text (rather than a parsed instant) is what makes round trips exact: `2026-01-01T00:00:00.120+01:00`
/// comes back with its offset and its trailing zero. The instant is derived when someone asks for it.
public struct Timestamp: Sendable, Hashable, CustomStringConvertible {
    public let text: String

    /// Validates `text` as an RFC 3339 `date-time`: `T` or `t` between date and time, `Z`, `z` or a numeric offset,
    /// any number of fraction digits, no leap second (`:60` is refused: the instant would be ambiguous).
    public init(_ text: String) throws(CloudEventError) {
        guard Self.parse(text) != nil else {
            throw .init(
                .invalidTimestamp,
                "\"\(text)\" is not an RFC 3339 timestamp (YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm), no leap second)")
        }
        self.text = text
    }

    /// Wraps text already validated, for example when decoding storage that only ever held valid values.
    public init(unchecked text: String) { self.text = text }

    /// A UTC timestamp for an instant, with nanosecond precision and trailing zeros trimmed.
    public init(secondsSinceEpoch seconds: Int64, nanoseconds: Int32 = 0) {
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = CivilCalendar.date(fromDaysSinceEpoch: days)
        var text = Self.pad(year, 4) + "-" + Self.pad(month, 2) + "-" + Self.pad(day, 2) + "T"
        text += Self.pad(secondOfDay / 3600, 2) + ":" + Self.pad(secondOfDay / 60 % 60, 2) + ":"
        text += Self.pad(secondOfDay % 60, 2)
        if nanoseconds > 0 {
            var fraction = Self.pad(Int64(nanoseconds), 9)
            while fraction.hasSuffix("0") { fraction.removeLast() }
            text += "." + fraction
        }
        self.text = text + "Z"
    }

    /// Seconds since the Unix epoch and the nanoseconds within that second, in UTC; `nil` only for an unchecked
    /// timestamp that is not valid RFC 3339.
    public var instant: (secondsSinceEpoch: Int64, nanoseconds: Int32)? { Self.parse(text) }

    public var description: String { text }

    private static func pad(_ value: some BinaryInteger, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    /// Parses the RFC 3339 grammar; `nil` when `text` breaks any rule.
    static func parse(_ text: String) -> (secondsSinceEpoch: Int64, nanoseconds: Int32)? {
        var text = text
        return text.withUTF8 { bytes -> (Int64, Int32)? in
            var reader = DigitReader(bytes: bytes)
            guard let year = reader.number(digits: 4), reader.expect(UInt8(ascii: "-")),
                let month = reader.number(digits: 2), reader.expect(UInt8(ascii: "-")),
                let day = reader.number(digits: 2),
                reader.expect(UInt8(ascii: "T")) || reader.expect(UInt8(ascii: "t")),
                let hour = reader.number(digits: 2), reader.expect(UInt8(ascii: ":")),
                let minute = reader.number(digits: 2), reader.expect(UInt8(ascii: ":")),
                let second = reader.number(digits: 2)
            else { return nil }
            guard (1...12).contains(month), day >= 1, day <= CivilCalendar.daysIn(month: month, year: year),
                hour <= 23, minute <= 59, second <= 59
            else { return nil }
            var nanoseconds: Int64 = 0
            if reader.expect(UInt8(ascii: ".")) {
                var count = 0
                while let digit = reader.digit() {
                    if count < 9 { nanoseconds = nanoseconds * 10 + digit }
                    count += 1
                }
                guard count > 0 else { return nil }
                for _ in count..<max(count, 9) { nanoseconds *= 10 }
            }
            var offsetSeconds: Int64 = 0
            if reader.expect(UInt8(ascii: "Z")) || reader.expect(UInt8(ascii: "z")) {
            } else {
                let sign: Int64
                if reader.expect(UInt8(ascii: "+")) {
                    sign = 1
                } else if reader.expect(UInt8(ascii: "-")) {
                    sign = -1
                } else {
                    return nil
                }
                guard let offsetHour = reader.number(digits: 2), reader.expect(UInt8(ascii: ":")),
                    let offsetMinute = reader.number(digits: 2), offsetHour <= 23, offsetMinute <= 59
                else { return nil }
                offsetSeconds = sign * (offsetHour * 3600 + offsetMinute * 60)
            }
            guard reader.atEnd else { return nil }
            let days = CivilCalendar.daysSinceEpoch(year: year, month: month, day: day)
            let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
            return (seconds, Int32(nanoseconds))
        }
    }
}

/// Reads fixed-width decimal fields of an ASCII date-time.
private struct DigitReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    var atEnd: Bool { index == bytes.count }

    mutating func expect(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    mutating func digit() -> Int64? {
        guard index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 else { return nil }
        defer { index += 1 }
        return Int64(bytes[index] - 0x30)
    }

    mutating func number(digits: Int) -> Int64? {
        var value: Int64 = 0
        for _ in 0..<digits {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }
}

/// Proleptic Gregorian calendar arithmetic (Howard Hinnant's days-from-civil), free of Foundation and time zones.
enum CivilCalendar {
    static func isLeap(_ year: Int64) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func daysSinceEpoch(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func date(fromDaysSinceEpoch days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
