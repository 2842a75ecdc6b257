import Foundation
import Testing
@testable import SoakCore

/// The required-text search in front of every rule's regular expression: it must never say
/// "cannot match" for a line the expression matches (a finding lost in a flood), and it should
/// find the text that makes most lines cheap to reject.
@Suite struct PatternTests {
    func required(_ p: String) -> String? {
        RequiredText.find(in: p).map { $0.anyOf.map { String(decoding: $0, as: UTF8.self) }.joined(separator: "|") }
    }

    @Test func theBuiltInRulesHaveTheTextTheirLinesMustContain() {
        #expect(required(#"imx_rproc_kick: failed \((\d+), err:(-?\d+)\)"#) == "imx_rproc_kick: failed (")
        #expect(required(#"timeout waiting for a tx buffer"#) == "timeout waiting for a tx buffer")
        #expect(required(#"remoteproc\d*: crash detected in (\S+)"#) == ": crash detected in ")
        #expect(required(#"ASSERT ERROR "(.*?)": file "(.*?)" Line "(\d+)""#) == "ASSERT ERROR \"")
        #expect(required(#"(?i)hard ?fault"#) == "fault")
        #expect(RequiredText.find(in: #"(?i)hard ?fault"#)?.foldsCase == true)
        #expect(required(#"(^|\s)BUG: "#) == "BUG: ")
        #expect(required(#"rcu.*(detected stalls|self-detected stall)"#) == "detected stalls|self-detected stall")
        #expect(required(#"(Internal error: Oops|Oops:|Unable to handle kernel)"#) == "Internal error: Oops|Oops:|Unable to handle kernel")
        #expect(required(#"Linux version (\S+)"#) == "Linux version ")
        // Every built-in rule has one: a flood costs a byte search per rule, not a regex.
        for rule in BuiltInRules.all { #expect(required(rule.pattern) != nil, "\(rule.name)") }
    }

    @Test func whatItDoesNotUnderstandRunsTheExpressionAlways() {
        #expect(required(#"abc|def"#) == "abc|def")
        #expect(required(#"abc|de"#) == nil)
        for p in [#"(?=abc)"#, #"\Qabc\E"#, #"(?x)a b c"#, #"ab\x41cdef"#, #"abc(?i)defgh"#, #"(a)\1bcd"#, #"*abc"#,
                  #"ab"#, #"\p{L}abc"#, #"(?i)straße"#, #"abc{x}def"#] {
            #expect(required(p) == nil, "\(p)")
        }
        // Pieces that may be absent are not required.
        #expect(required(#"abcd?efg"#) == "abc")
        #expect(required(#"wxyz{0,3}efg"#) == "wxy")
        #expect(required(#"wxyz{1,3}efg"#) == "wxyz")
        #expect(required(#"ab+cdef"#) == "cdef")
        #expect(required(#"[xyz]]abcd"#) == "]abcd")
        #expect(required(#"(?i:abc)defg"#) == nil)
        #expect(required(#"(?:ab|c)defg"#) == "defg")
    }

    @Test func theByteSearchFindsTheTextAnywhereAndFoldsAsciiCase() throws {
        let kick = try Pattern(#"imx_rproc_kick: failed \((\d+), err:(-?\d+)\)"#)
        #expect(kick.mayMatch("[  12.5] imx-rproc imx8mp-cm7: imx_rproc_kick: failed (1, err:-62)"))
        #expect(!kick.mayMatch("[  12.5] imx-rproc imx8mp-cm7: imx_rproc_kick: fail"))
        #expect(!kick.mayMatch(""))
        #expect(kick.matches("imx_rproc_kick: failed (1, err:-62)"))
        let fault = try Pattern(#"(?i)hard ?fault"#)
        for text in ["HardFault at 0x0800", "HARD FAULT", "hard fault!", "xx hardFAULT"] { #expect(fault.matches(text), "\(text)") }
        #expect(!fault.mayMatch("soft failure"))
        // The Kelvin sign folds onto k in ICU: a non-ASCII line goes to the expression.
        let kelvin = try Pattern(#"(?i)kick"#)
        #expect(kelvin.mayMatch("\u{212A}ick"))
    }

    /// Random patterns from the pieces rules are made of, random lines made to match them and
    /// random lines near them: whenever the expression matches, the search says it may.
    @Test func neverSaysNoToALineTheExpressionMatches() throws {
        var rng = SplitMix(seed: 42)
        let words = ["imx", "rproc", "kick", "fail", "err", "vq", "M7", "ab", "Fault", ":", " ", "(", "-", "é", "x"]
        var checked = 0
        var rejected = 0
        for _ in 0..<600 {
            var pattern = rng.next() % 4 == 0 ? "(?i)" : ""
            var sample = ""
            for _ in 0..<(1 + Int(rng.next() % 6)) {
                let w = words[Int(rng.next() % UInt64(words.count))]
                let escaped = NSRegularExpression.escapedPattern(for: w)
                switch rng.next() % 10 {
                case 0: pattern += "\(escaped)?"; if rng.next() % 2 == 0 { sample += w }
                case 1: pattern += "\\d+"; sample += "\(rng.next() % 1000)"
                case 2: pattern += "(\(escaped)|zzq)"; sample += rng.next() % 2 == 0 ? w : "zzq"
                case 3: pattern += "[a-c]"; sample += "b"
                case 4: pattern += ".*"; sample += rng.next() % 2 == 0 ? "" : "junk"
                case 5: pattern += "(?:\(escaped))+"; sample += w + (rng.next() % 2 == 0 ? w : "")
                case 6: pattern += "\\s"; sample += " "
                case 7: pattern += "(?:kick(\(escaped)|oops)fail)"; sample += "kick" + (rng.next() % 2 == 0 ? w : "oops") + "fail"
                default: pattern += escaped; sample += w
                }
            }
            let p = try Pattern(pattern)
            for variant in variants(of: sample, rng: &rng) {
                let matched = p.regex.firstMatch(in: variant, range: NSRange(location: 0, length: (variant as NSString).length)) != nil
                if matched {
                    checked += 1
                    #expect(p.mayMatch(variant), "pattern \(pattern) line \(variant)")
                } else if !p.mayMatch(variant) {
                    rejected += 1
                }
            }
        }
        #expect(checked > 1000)
        #expect(rejected > 100)  // the search does reject lines, it is not always "maybe"
    }

    func variants(of sample: String, rng: inout SplitMix) -> [String] {
        let upper = sample.uppercased()
        let cut = String(sample.dropLast(Int(rng.next() % 3)))
        return [sample, "pre " + sample + " post", upper, "\u{212A}" + sample, cut, String(sample.shuffled(using: &rng))]
    }
}

struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
