import Glibc

/// A tty opened the one way this tester opens ttys, the RPMsg link and the M7's UART alike:
/// open(2) O_NOCTTY|O_NONBLOCK|O_CLOEXEC, isatty, TIOCEXCL, raw mode, and a baud rate when one is
/// given. The NXP imx_rpmsg_tty node starts cooked (echo, ICANON, CR/LF translation), so raw
/// mode is not optional; non-blocking because a hang-up must be a result, never a blocked call.
///
/// Only the descriptor is kept (the caller knows the path), so a copy costs nothing on the
/// link's per-message read and write.
public struct TtyDevice: Sendable {
    public let fd: FileDescriptor

    /// Which step of the open sequence failed, and its errno.
    public struct OpenFailure: Error, Sendable {
        public enum Step: Sendable, Equatable {
            case open, notATerminal, exclusive, rawMode, baud(Int)
        }
        public var step: Step
        public var errno: Errno

        /// What failed, without the errno: "cannot take it exclusively (TIOCEXCL)".
        public var what: String {
            switch step {
            case .open: "cannot open"
            case .notATerminal: "not a tty"
            case .exclusive: "cannot take it exclusively (TIOCEXCL)"
            case .rawMode: "cannot put it into raw mode"
            case .baud(let baud): "cannot set \(baud) baud"
            }
        }
    }

    /// Runs the open sequence; on any failure the descriptor is closed again.
    /// - access: `.readWrite` for a link, `.readOnly` for a UART that is only listened to.
    /// - keepingInput: keep what arrived before the open (a UART's boot banner; a link's waiting
    ///   bytes, which the runner drains and records); false flushes both queues.
    /// - baud: set the line speed (a UART); nil leaves it (a virtual tty has none).
    public static func open(_ path: String, _ access: FileDescriptor.AccessMode, keepingInput: Bool = false,
                            baud: Int? = nil) throws(OpenFailure) -> TtyDevice {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(path, access, options: [.noControllingTerminal, .nonBlocking, .closeOnExec])
        } catch {
            throw OpenFailure(step: .open, errno: error)
        }
        func fail(_ step: OpenFailure.Step, _ e: Errno) -> OpenFailure {
            fd.close()
            return OpenFailure(step: step, errno: e)
        }
        guard fd.isTerminal else { throw fail(.notATerminal, .current) }
        do { try fd.setExclusive() } catch { throw fail(.exclusive, error) }
        do { try fd.makeRaw(keepingInput: keepingInput) } catch { throw fail(.rawMode, error) }
        if let baud {
            do { try fd.setBaud(baud) } catch { throw fail(.baud(baud), error) }
        }
        return TtyDevice(fd: fd)
    }

    /// TIOCNXCL, then close(2): the next opener (a rerun, `rpmsg-soak check`) is not refused.
    public func close() {
        try? fd.clearExclusive()
        fd.close()
    }
}
