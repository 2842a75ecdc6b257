import Foundation

/// A rule's regular expression with the text every match must contain (one of a few texts,
/// for a pattern of alternatives). A byte search for it rejects most lines of a UART or
/// kernel-log flood in well under a microsecond; the regular expression runs only on the lines
/// that contain it. Sound by construction: when the required text cannot be worked out for
/// sure, there is none and the expression always runs.
public struct Pattern: @unchecked Sendable {
    public let regex: NSRegularExpression
    /// Every match contains one of these (UTF-8; lowercase ASCII when `foldsCase`); nil: none
    /// known, the expression always runs.
    public let required: [[UInt8]]?
    /// The pattern starts with `(?i)`: the byte search ignores ASCII case.
    public let foldsCase: Bool

    public var pattern: String { regex.pattern }

    public init(_ pattern: String) throws {
        self.init(try NSRegularExpression(pattern: pattern))
    }

    /// An expression compiled elsewhere; with options other than the default there is no
    /// required text (the expression always runs).
    public init(_ regex: NSRegularExpression) {
        self.regex = regex
        let found = regex.options.isEmpty ? RequiredText.find(in: regex.pattern) : nil
        required = found?.anyOf
        foldsCase = found?.foldsCase ?? false
    }

    /// False only when no match is possible: none of the required texts is in `text`.
    public func mayMatch(_ text: String) -> Bool {
        guard let required else { return true }
        let search = { (hay: UnsafeBufferPointer<UInt8>) in
            required.contains { RequiredText.contains(hay, $0, foldingCase: foldsCase) }
        }
        if let found = text.utf8.withContiguousStorageIfAvailable(search) { return found }
        var copy = text
        copy.makeContiguousUTF8()
        return copy.utf8.withContiguousStorageIfAvailable(search) ?? true
    }

    /// The first match, looked for only when the required text is there.
    public func firstMatch(in text: String) -> NSTextCheckingResult? {
        guard mayMatch(text) else { return nil }
        return regex.firstMatch(in: text, range: NSRange(location: 0, length: (text as NSString).length))
    }

    public func matches(_ text: String) -> Bool { firstMatch(in: text) != nil }
}

/// Works out text every match of a regular expression (ICU syntax, as NSRegularExpression reads
/// it) must contain: the longest literal run, or, for a group of alternatives such as
/// `(Oops:|Unable to handle)`, one text per alternative. Conservative: anything it does not
/// understand for sure (`\Q`, escapes with arguments, back-references, lookarounds, flags
/// other than a leading `(?i)`, case-folded non-ASCII) gives nil.
enum RequiredText {
    /// Shorter texts are not worth a search of their own.
    static let minimumLength = 3

    typealias Scalars = ArraySlice<Unicode.Scalar>

    static func find(in pattern: String) -> (anyOf: [[UInt8]], foldsCase: Bool)? {
        var chars = Array(pattern.unicodeScalars)[...]
        var foldsCase = false
        // A leading flag group: (?i) is understood; (?x) and the like change what text means.
        if chars.count >= 3, chars.first == "(", chars[chars.startIndex + 1] == "?", chars[chars.startIndex + 2].properties.isAlphabetic {
            guard let close = chars.firstIndex(where: { $0 == ")" || $0 == ":" }), chars[close] == ")",
                  chars[(chars.startIndex + 2)..<close].allSatisfy({ "imsw".unicodeScalars.contains($0) }) else { return nil }
            foldsCase = chars[(chars.startIndex + 2)..<close].contains("i")
            chars = chars[(close + 1)...]
        }
        // Flags set mid-pattern change what the text after them means.
        for i in chars.indices.dropLast(2) where chars[i] == "(" && chars[i + 1] == "?" {
            if chars[i + 2].properties.isAlphabetic || chars[i + 2] == "-" { return nil }
        }
        guard let texts = alternatives(chars) else { return nil }
        if foldsCase && !texts.allSatisfy({ $0.allSatisfy(\.isASCII) }) { return nil }
        var out = texts.map { Array(String(String.UnicodeScalarView($0)).utf8) }
        if foldsCase { out = out.map { $0.map(lower) } }
        return (out, foldsCase)
    }

    /// One required text per top-level alternative of `c`; nil when one has none.
    static func alternatives(_ c: Scalars) -> [[Unicode.Scalar]]? {
        var out: [[Unicode.Scalar]] = []
        for branch in split(c) {
            guard let texts = sequence(branch) else { return nil }
            out += texts
        }
        return out.isEmpty ? nil : out
    }

    /// Splits at the `|`s outside groups and classes; nil: not understood.
    private static func split(_ c: Scalars) -> [Scalars] {
        var out: [Scalars] = []
        var start = c.startIndex
        var i = c.startIndex
        while i < c.endIndex {
            switch c[i] {
            case "\\": i += 1
            case "(": i = groupEnd(c, from: i) ?? c.endIndex - 1
            case "[": i = classEnd(c, from: i) ?? c.endIndex - 1
            case "|":
                out.append(c[start..<i])
                start = i + 1
            default: break
            }
            i += 1
        }
        out.append(c[start..<c.endIndex])
        return out
    }

    /// Escapes that stand for a class or a position, without arguments.
    private static let classEscapes = Set("dDsSwWbBhHvVRXAzZGnrtfe".unicodeScalars)

    /// What one alternative (no top-level `|`) requires: its longest literal run, or the texts
    /// of a group that must be there, whichever has the longer shortest text.
    private static func sequence(_ c: Scalars) -> [[Unicode.Scalar]]? {
        var best: [[Unicode.Scalar]]?
        var run: [Unicode.Scalar] = []
        func consider(_ texts: [[Unicode.Scalar]]) {
            let score = texts.map(\.count).min() ?? 0
            guard score >= minimumLength else { return }
            if let b = best, (b.map(\.count).min() ?? 0) >= score { return }
            best = texts
        }
        func endRun() {
            consider([run])
            run.removeAll()
        }
        var i = c.startIndex
        while i < c.endIndex {
            let ch = c[i]
            var literal: Unicode.Scalar?
            var group: [[Unicode.Scalar]]?
            var next: Int
            switch ch {
            case "\\":
                guard i + 1 < c.endIndex else { return nil }
                let e = c[i + 1]
                if e.properties.isAlphabetic || ("0"..."9").contains(e) {
                    guard classEscapes.contains(e) else { return nil }
                } else {
                    literal = e
                }
                next = i + 2
            case "(":
                guard let close = groupEnd(c, from: i) else { return nil }
                if i + 1 < close, c[i + 1] == "?" {
                    guard i + 2 < close else { return nil }
                    // (?: is a plain group; lookarounds, named groups and comments are not used.
                    if c[i + 2] == ":" { group = alternatives(c[(i + 3)..<close]) }
                } else {
                    group = alternatives(c[(i + 1)..<close])
                }
                next = close + 1
            case "[":
                guard let close = classEnd(c, from: i) else { return nil }
                next = close + 1
            case ")", "*", "+", "?", "{":
                return nil  // a quantifier with nothing before it: not understood
            case ".", "^", "$":
                next = i + 1
            default:
                literal = ch
                next = i + 1
            }
            guard let q = quantifier(c, at: next) else { return nil }
            if let literal {
                if q.mayBeAbsent { endRun() } else { run.append(literal) }
                if q.length > 0 { endRun() }
            } else {
                endRun()
                if let group, !q.mayBeAbsent { consider(group) }
            }
            i = next + q.length
        }
        endRun()
        return best
    }

    /// The quantifier at `i`, if any: its length (with a lazy or possessive mark) and whether
    /// it lets the piece before it be absent (`?`, `*`, `{0,...}`). Nil: not understood.
    private static func quantifier(_ c: Scalars, at i: Int) -> (length: Int, mayBeAbsent: Bool)? {
        guard i < c.endIndex else { return (0, false) }
        var j = i
        var mayBeAbsent = false
        switch c[i] {
        case "?", "*":
            mayBeAbsent = true
            j += 1
        case "+":
            j += 1
        case "{":
            var k = i + 1
            var text = ""
            while k < c.endIndex, c[k] != "}" { text.unicodeScalars.append(c[k]); k += 1 }
            guard k < c.endIndex, let least = Int(text.split(separator: ",", omittingEmptySubsequences: false).first ?? "") else { return nil }
            mayBeAbsent = least == 0
            j = k + 1
        default:
            return (0, false)
        }
        if j < c.endIndex, c[j] == "?" || c[j] == "+" { j += 1 }
        return (j - i, mayBeAbsent)
    }

    /// The index of the `)` closing the group at `from`, skipping escapes and classes.
    private static func groupEnd(_ c: Scalars, from: Int) -> Int? {
        var depth = 0
        var i = from
        while i < c.endIndex {
            switch c[i] {
            case "\\": i += 1
            case "[": guard let end = classEnd(c, from: i) else { return nil }; i = end
            case "(": depth += 1
            case ")":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The index of the `]` closing the character class at `from` (ICU sets nest).
    private static func classEnd(_ c: Scalars, from: Int) -> Int? {
        var depth = 0
        var i = from
        while i < c.endIndex {
            switch c[i] {
            case "\\": i += 1
            case "[":
                depth += 1
                // A "]" right after "[" or "[^" is a literal.
                if i + 1 < c.endIndex, c[i + 1] == "^" { i += 1 }
                if i + 1 < c.endIndex, c[i + 1] == "]" { i += 1 }
            case "]":
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    static func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    /// Whether `needle` (lowercase when folding) occurs in `hay`.
    static func contains(_ hay: UnsafeBufferPointer<UInt8>, _ needle: [UInt8], foldingCase: Bool) -> Bool {
        let n = needle.count
        guard n > 0 else { return true }
        guard hay.count >= n, let base = hay.baseAddress else { return false }
        return needle.withUnsafeBufferPointer { nb in
            if !foldingCase {
                // memchr to each candidate first byte, memcmp for the rest.
                let first = Int32(nb[0])
                var from = 0
                let last = hay.count - n
                while from <= last {
                    guard let hit = memchr(base + from, first, last - from + 1) else { return false }
                    let at = base.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                    if memcmp(base + at, nb.baseAddress!, n) == 0 { return true }
                    from = at + 1
                }
                return false
            }
            let first = nb[0]
            let upper = first >= 0x61 && first <= 0x7A ? first & ~0x20 : first
            var i = 0
            let last = hay.count - n
            while i <= last {
                let b = base[i]
                if b == first || b == upper {
                    var k = 1
                    while k < n, lower(base[i + k]) == nb[k] { k += 1 }
                    if k == n { return true }
                }
                i += 1
            }
            // ICU folds a few non-ASCII letters onto ASCII ones (the Kelvin sign onto k): a line
            // with any non-ASCII byte goes to the regular expression.
            for k in 0..<hay.count where base[k] >= 0x80 { return true }
            return false
        }
    }
}
