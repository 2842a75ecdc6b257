/// Text from the timeline (UART lines come from hardware) made safe for XML and HTML alike.
public enum Markup {
    /// Escapes `& < > " '` and replaces what neither XML 1.0 nor HTML may carry (control
    /// characters but tab and newline, C1 controls, surrogates, noncharacters) with U+FFFD, so
    /// the reader sees that something was there.
    public static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n": out.unicodeScalars.append(u)
            default:
                let v = u.value
                if v < 0x20 || (0x7F...0x9F).contains(v) || (0xD800...0xDFFF).contains(v) || (0xFDD0...0xFDEF).contains(v)
                    || v & 0xFFFE == 0xFFFE {
                    out += "\u{FFFD}"
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out
    }
}
