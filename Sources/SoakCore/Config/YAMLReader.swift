import Foundation
import Yams

/// Reads a YAML document strictly: every value is checked for type and range, every unknown
/// key is an error, and every error names file, line, column and key.
struct YAMLReader {
    let file: String
    let node: Node
    let path: String

    static func load(text: String, file: String) throws(ConfigError) -> YAMLReader {
        do {
            guard let node = try Yams.compose(yaml: text) else {
                throw ConfigError(file: file, line: 1, column: 1, key: "", message: "the file is empty")
            }
            return YAMLReader(file: file, node: node, path: "")
        } catch let error as ConfigError {
            throw error
        } catch let error as YamlError {
            var e = Self.convert(error, file: file, text: text)
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            if e.line >= 1 && e.line <= lines.count && lines[e.line - 1].contains("\t") {
                e.message += " (the line holds a tab: YAML indents with spaces only)"
            }
            throw e
        } catch {
            throw ConfigError(file: file, line: 0, column: 0, key: "", message: "cannot parse YAML: \(error)")
        }
    }

    private static func convert(_ error: YamlError, file: String, text: String) -> ConfigError {
        switch error {
        case .reader(let problem, let offset, let value, _):
            // A byte YAML does not allow (a NUL, a control character): where it is, as a person counts.
            var line = 0, column = 0
            if let offset, offset >= 0, offset <= text.count {
                let before = text.prefix(offset)
                line = before.reduce(1) { $1 == "\n" ? $0 + 1 : $0 }
                column = before.count - (before.lastIndex(of: "\n").map { before.distance(from: before.startIndex, to: $0) + 1 } ?? 0) + 1
            }
            let what = value == 0 ? "a NUL byte" : value >= 0 ? String(format: "the character U+%04X", value) : "a character"
            return ConfigError(file: file, line: line, column: column, key: "",
                               message: "invalid YAML: \(what) is not allowed in a YAML file (\(problem))")
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            return ConfigError(file: file, line: mark.line, column: mark.column, key: "", message: "invalid YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            return ConfigError(file: file, line: context.mark.line, column: context.mark.column,
                               key: duplicates.joined(separator: ","), message: "key appears more than once")
        default:
            return ConfigError(file: file, line: 0, column: 0, key: "", message: "invalid YAML: \(error)")
        }
    }

    func error(_ message: String) -> ConfigError {
        ConfigError(file: file, line: node.mark?.line ?? 0, column: node.mark?.column ?? 0, key: path, message: message)
    }

    private var found: String {
        switch node {
        case .scalar(let s): return s.string.isEmpty ? "nothing" : "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    var isMapping: Bool { if case .mapping = node { return true } else { return false } }
    var isSequence: Bool { if case .sequence = node { return true } else { return false } }

    func mapping(allowed: [String]) throws(ConfigError) -> YAMLMapping {
        guard case .mapping(let mapping) = node else { throw error("expected a mapping with keys \(allowed.joined(separator: ", ")), found \(found)") }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (k, v) in mapping {
            guard let key = k.string else {
                throw YAMLReader(file: file, node: k, path: path).error("keys must be plain words")
            }
            guard allowed.contains(key) else {
                let child = path.isEmpty ? key : "\(path).\(key)"
                throw YAMLReader(file: file, node: k, path: child)
                    .error("unknown key; expected one of: \(allowed.joined(separator: ", "))")
            }
            entries.append((key, k, v))
        }
        return YAMLMapping(reader: self, entries: entries)
    }

    func sequence() throws(ConfigError) -> [YAMLReader] {
        guard case .sequence(let seq) = node else { throw error("expected a list, found \(found)") }
        return seq.enumerated().map { YAMLReader(file: file, node: $1, path: "\(path)[\($0)]") }
    }

    func string() throws(ConfigError) -> String {
        guard case .scalar(let s) = node else { throw error("expected text, found \(found)") }
        return s.string
    }

    func int(_ range: ClosedRange<Int>, what: String = "a whole number") throws(ConfigError) -> Int {
        guard case .scalar = node, let v = Int(try string()) else {
            if case .scalar = node, Self.isWholeNumber(try string()) {
                throw error("\(try string()) is out of range: expected \(what) from \(range.lowerBound) to \(range.upperBound)")
            }
            throw error("expected \(what), found \(found)")
        }
        guard range.contains(v) else { throw error("\(v) is out of range: expected \(what) from \(range.lowerBound) to \(range.upperBound)") }
        return v
    }

    func bool() throws(ConfigError) -> Bool {
        guard let v = Bool(try string()) else { throw error("expected true or false, found \(found)") }
        return v
    }

    /// A count from 0 to `max` (by default Int64.max: what every reader of summary.json and
    /// every signed counter holds).
    func uint64(max: UInt64 = UInt64(Int64.max)) throws(ConfigError) -> UInt64 {
        let text = try string()
        guard let v = UInt64(text), v <= max else {
            if Self.isWholeNumber(text) && !text.hasPrefix("-") {
                throw error("\(text) is out of range: expected a whole number from 0 to \(max)")
            }
            throw error("expected a whole number of 0 or more, found \(found)")
        }
        return v
    }

    private static func isWholeNumber(_ text: String) -> Bool {
        let digits = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
        return !digits.isEmpty && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    func double() throws(ConfigError) -> Double {
        guard let v = Double(try string()), v.isFinite else { throw error("expected a number, found \(found)") }
        return v
    }

    /// A duration of at least `atLeast` (a floor below which a value cannot make sense) and
    /// at most `atMost` (by default 10 years: sums of durations must not overflow).
    func duration(allowZero: Bool = false, atLeast: SoakDuration? = nil, atMost: SoakDuration = SoakDuration.seconds(10 * 365 * 86400),
                  why: String? = nil) throws(ConfigError) -> SoakDuration {
        let d = try plainDuration(allowZero: allowZero)
        if let atLeast, d < atLeast, !(allowZero && d.nanoseconds == 0) {
            throw error("\(d) is too short: at least \(atLeast)\(why.map { " (\($0))" } ?? "")")
        }
        if d > atMost { throw error("\(d) is too long: at most \(atMost)") }
        return d
    }

    private func plainDuration(allowZero: Bool) throws(ConfigError) -> SoakDuration {
        let text = try string()
        if text.trimmingCharacters(in: .whitespaces).hasPrefix("-") {
            throw error("a duration cannot be negative, found '\(text)'")
        }
        if Double(text.trimmingCharacters(in: .whitespaces)) != nil && text != "0" {
            // 500 could mean ms or s: a limit read the wrong way can never fail. Make it explicit.
            throw error("a duration needs a unit (ms, s, m, h), found '\(text)'; write for example \(text)ms or \(text)s")
        }
        guard let d = SoakDuration.parse(text) else {
            throw error("expected a duration such as 500ms, 30s, 5m or 12h, found \(found)")
        }
        if !allowZero && d.nanoseconds == 0 { throw error("must be longer than 0") }
        return d
    }
}

/// A mapping whose keys were checked against the allowed ones.
struct YAMLMapping {
    let reader: YAMLReader
    let entries: [(key: String, keyNode: Node, value: Node)]

    func has(_ key: String) -> Bool { entries.contains { $0.key == key } }

    func optional(_ key: String) -> YAMLReader? {
        guard let e = entries.first(where: { $0.key == key }) else { return nil }
        let path = reader.path.isEmpty ? key : "\(reader.path).\(key)"
        return YAMLReader(file: reader.file, node: e.value, path: path)
    }

    /// An error about the key itself (it must not be here), pointing at the key rather than at
    /// its value: for a block mapping the value starts on the next line.
    func keyError(_ key: String, _ message: String) -> ConfigError {
        let path = reader.path.isEmpty ? key : "\(reader.path).\(key)"
        let node = entries.first(where: { $0.key == key })?.keyNode ?? reader.node
        return YAMLReader(file: reader.file, node: node, path: path).error(message)
    }

    func required(_ key: String) throws(ConfigError) -> YAMLReader {
        guard let r = optional(key) else {
            let path = reader.path.isEmpty ? key : "\(reader.path).\(key)"
            throw ConfigError(file: reader.file, line: reader.node.mark?.line ?? 0,
                              column: reader.node.mark?.column ?? 0, key: path, message: "missing required key")
        }
        return r
    }
}
