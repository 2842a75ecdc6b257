import Glibc

/// The text of an errno value, as strerror gives it, with the symbolic name for the ones a
/// lab engineer meets on a tty.
public func describeErrno(_ e: Int32) -> String {
    let name: String
    switch e {
    case ENOENT: name = "ENOENT"
    case EACCES: name = "EACCES"
    case EBUSY: name = "EBUSY"
    case EIO: name = "EIO"
    case ENODEV: name = "ENODEV"
    case ENXIO: name = "ENXIO"
    case ENOTTY: name = "ENOTTY"
    case EPERM: name = "EPERM"
    case ETIME: name = "ETIME"
    case EINVAL: name = "EINVAL"
    case EISDIR: name = "EISDIR"
    case EPIPE: name = "EPIPE"
    default: name = "errno \(e)"
    }
    return "\(String(cString: strerror(e))) (\(name))"
}
