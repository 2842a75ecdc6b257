import Glibc
import SoakLinux

/// Where the simulated kernel's records go: a file in the `/dev/kmsg` record format
/// (`prio,seq,ts_usec,flags;message`, one per line) that the kernel-log reader can follow, and,
/// when asked and allowed (root), the real `/dev/kmsg`.
final class KernelLogSink {
    private let file: FileDescriptor?
    private let inject: Bool
    private var seq: UInt64 = 0
    private let startMono: UInt64

    init(path: String?, inject: Bool, startMono: UInt64) {
        file = path.flatMap { try? FileDescriptor.open($0, .writeOnly, options: [.create, .append, .closeOnExec], permissions: 0o644) }
        self.inject = inject
        self.startMono = startMono
    }

    deinit { file?.close() }

    func record(level: Int, text: String, at mono: UInt64) {
        let usec = (mono &- startMono) / 1000
        if let file {
            Self.write("\(level),\(seq),\(usec),-;\(text)\n", to: file)
            seq += 1
        }
        if inject {
            // A new fd per line: /dev/kmsg limits each open file to 10 lines per 5 s.
            if let k = try? FileDescriptor.open("/dev/kmsg", .writeOnly, options: .closeOnExec) {
                Self.write("<\(level)>\(text)\n", to: k)
                k.close()
            }
        }
    }

    /// One write(2) per record: /dev/kmsg takes a record per write, and a file opened with
    /// O_APPEND keeps each line whole.
    private static func write(_ line: String, to fd: FileDescriptor) {
        var line = line
        _ = line.withUTF8 { try? fd.write(UnsafeRawBufferPointer($0)) }
    }
}
