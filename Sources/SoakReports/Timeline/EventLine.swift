import Foundation
import SoakCore

/// An event as its line of events.jsonl (without the newline).
///
/// An interval snapshot's bucket lists are written here by hand: at the link's maximum rate an
/// interval holds a few thousand `[value, count]` pairs, and Foundation's encoder builds a value
/// per number and a container per pair, a few hundred kB at every snapshot and the largest
/// transient of a soak's memory (issue 14). The rest of the event still goes through the
/// encoder, with the lists empty, and the lists are put in their place: the line is byte for
/// byte the encoder's (`EventLineTests`).
enum EventLine {
    /// The timeline's encoder: snake-case keys, sorted, slashes as they are.
    static func makeEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    static func encode(_ event: Event, with encoder: JSONEncoder) throws -> Data {
        guard event.type == .interval, var snap = event.interval else { return try encoder.encode(event) }
        var lists: [(key: String, buckets: SparseBuckets)] = [("latency_micros", snap.latencyMicros)]
        snap.latencyMicros = []
        if let lag = snap.scheduleLagMicros {
            lists.append(("schedule_lag_micros", lag))
            snap.scheduleLagMicros = []
        }
        if let network = snap.networkRoundTripMicros {
            lists.append(("network_round_trip_micros", network))
            snap.networkRoundTripMicros = []
        }
        var skeleton = event
        skeleton.interval = snap
        let text = try encoder.encode(skeleton)
        // Where each empty list is: `"key":[]` cannot occur inside a string value, whose quotes
        // the encoder escapes.
        var places: [(at: Int, buckets: SparseBuckets)] = []
        for list in lists {
            guard let range = text.firstRange(of: Data("\"\(list.key)\":[]".utf8)) else {
                // The encoder named a key otherwise: its own text of the whole event, then.
                return try encoder.encode(event)
            }
            places.append((range.upperBound - 1, list.buckets))
        }
        places.sort { $0.at < $1.at }
        var line = Data()
        line.reserveCapacity(text.count + places.reduce(0) { $0 + $1.buckets.count * 16 })
        var from = text.startIndex
        for place in places {
            line.append(text[from..<place.at])
            append(place.buckets, to: &line)
            from = place.at
        }
        line.append(text[from...])
        return line
    }

    /// `[v,c],[v,c]...`: the pairs without the list's own brackets, as the encoder writes them.
    private static func append(_ buckets: SparseBuckets, to line: inout Data) {
        var digits = [UInt8](repeating: 0, count: 20)
        func number(_ v: UInt64) {
            var n = v
            var i = digits.count
            repeat {
                i -= 1
                digits[i] = UInt8(ascii: "0") + UInt8(n % 10)
                n /= 10
            } while n > 0
            line.append(contentsOf: digits[i...])
        }
        var first = true
        for b in buckets {
            if !first { line.append(UInt8(ascii: ",")) }
            first = false
            line.append(UInt8(ascii: "["))
            number(b.value)
            line.append(UInt8(ascii: ","))
            number(b.count)
            line.append(UInt8(ascii: "]"))
        }
    }
}
