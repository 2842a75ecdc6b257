import Foundation
import Glibc

/// Errors in plain words for a person: "No space left on device", never a Foundation dump
/// such as `Error Domain=NSCocoaErrorDomain Code=640 "(null)"`. Every message the tool prints
/// about a file it could not write, read or make goes through here.
public enum ErrorText {
    /// Why `error` happened, in a few words ("No space left on device", "Permission denied").
    /// The tool's own errors give their own text.
    public static func reason(_ error: Error) -> String {
        // By exact type: on Linux `as? CocoaError` also matches an NSError of another domain.
        if type(of: error) is NSError.Type || type(of: error) == POSIXError.self || type(of: error) == CocoaError.self {
            let ns = error as NSError
            if ns.domain == NSPOSIXErrorDomain { return errnoText(Int32(ns.code)) }
            if ns.domain == NSCocoaErrorDomain { return cocoaReason(ns.code, userInfo: ns.userInfo) }
            if let text = ns.userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty { return text }
            return "error \(ns.code) (\(ns.domain))"
        }
        if error is DecodingError { return "not what was expected (\(decodingReason(error)))" }
        // The tool's own errors: their description.
        return String(describing: error)
    }

    /// `reason`, with the file a Foundation error names in front ("PATH: No space left on
    /// device"): for errors printed as they come.
    public static func describe(_ error: Error) -> String {
        let why = reason(error)
        guard type(of: error) is NSError.Type || type(of: error) == POSIXError.self || type(of: error) == CocoaError.self else { return why }
        let info = (error as NSError).userInfo
        if let path = info[NSFilePathErrorKey] as? String, !path.isEmpty { return "\(path): \(why)" }
        if let url = info[NSURLErrorKey] as? URL { return "\(url.path): \(why)" }
        return why
    }

    /// "cannot write PATH: No space left on device".
    public static func cannot(_ what: String, _ path: String, _ error: Error) -> String {
        "cannot \(what) \(path): \(reason(error))"
    }

    /// strerror(3): "No space left on device" for ENOSPC.
    public static func errnoText(_ code: Int32) -> String {
        String(cString: strerror(code))
    }

    private static func cocoaReason(_ code: Int, userInfo: [String: Any]) -> String {
        if let underlying = userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return errnoText(Int32(underlying.code))
        }
        if let underlying = userInfo[NSUnderlyingErrorKey] as? POSIXError {
            return errnoText(underlying.code.rawValue)
        }
        switch code {
        case CocoaError.fileWriteOutOfSpace.rawValue: return errnoText(ENOSPC)
        case CocoaError.fileWriteNoPermission.rawValue, CocoaError.fileReadNoPermission.rawValue: return errnoText(EACCES)
        case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileReadNoSuchFile.rawValue: return errnoText(ENOENT)
        case CocoaError.fileWriteVolumeReadOnly.rawValue: return errnoText(EROFS)
        case CocoaError.fileWriteFileExists.rawValue: return errnoText(EEXIST)
        case CocoaError.fileWriteInvalidFileName.rawValue, CocoaError.fileReadInvalidFileName.rawValue: return "not a valid file name"
        case CocoaError.fileReadCorruptFile.rawValue: return "not in the expected format"
        case CocoaError.fileReadInapplicableStringEncoding.rawValue: return "not UTF-8 text"
        case CocoaError.fileReadTooLarge.rawValue: return "too large"
        case CocoaError.fileLocking.rawValue: return "locked by another program"
        default:
            if let text = userInfo[NSLocalizedDescriptionKey] as? String, !text.isEmpty { return text }
            return (400...699).contains(code) ? "the file could not be written (error \(code))" : "the file could not be read (error \(code))"
        }
    }

    private static func decodingReason(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .dataCorrupted(let c): return "\(c.debugDescription) at \(at(c.codingPath))"
        case .keyNotFound(let k, let c): return "\(k.stringValue) missing at \(at(c.codingPath))"
        case .typeMismatch(_, let c), .valueNotFound(_, let c): return "\(c.debugDescription) at \(at(c.codingPath))"
        @unknown default: return "\(e)"
        }
    }
}
