import Glibc

/// Where the simulated kernel's records go: a file in the `/dev/kmsg` record format
/// (`prio,seq,ts_usec,flags;message`, one per line) that the kernel-log reader can follow, and,
/// when asked and allowed (root), the real `/dev/kmsg`.
final class KernelLogSink {
    private let fd: Int32
    private let inject: Bool
    private var seq: UInt64 = 0
    private let startMono: UInt64

    init(path: String?, inject: Bool, startMono: UInt64) {
        fd = path.map { open($0, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644) } ?? -1
        self.inject = inject
        self.startMono = startMono
    }

    deinit { if fd >= 0 { close(fd) } }

    func record(level: Int, text: String, at mono: UInt64) {
        let usec = (mono &- startMono) / 1000
        if fd >= 0 {
            let line = "\(level),\(seq),\(usec),-;\(text)\n"
            seq += 1
            _ = line.withCString { write(fd, $0, strlen($0)) }
        }
        if inject {
            // A new fd per line: /dev/kmsg limits each open file to 10 lines per 5 s.
            let k = open("/dev/kmsg", O_WRONLY | O_CLOEXEC)
            if k >= 0 {
                let line = "<\(level)>\(text)\n"
                _ = line.withCString { write(k, $0, strlen($0)) }
                close(k)
            }
        }
    }
}
