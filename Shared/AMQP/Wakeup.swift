import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Lets any thread wake an I/O thread that sleeps in `poll` on its broker socket.
final class Wakeup: @unchecked Sendable {
    // Written once in init, then only read; the pipe itself is thread-safe.
    private let readEnd: Int32
    private let writeEnd: Int32

    init() {
        var fds: [Int32] = [0, 0]
        let status = pipe(&fds)
        precondition(status == 0, "pipe() failed: errno \(errno)")
        readEnd = fds[0]
        writeEnd = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    deinit {
        Glibc.close(readEnd)
        Glibc.close(writeEnd)
    }

    func signal() {
        var byte: UInt8 = 1
        _ = write(writeEnd, &byte, 1)  // a full pipe already means "wake up"
    }

    /// Sleeps until `socket` is readable, `signal()` was called, or `timeout` passed.
    /// Returns true when the socket is readable. A negative socket waits on the wake-up alone.
    @discardableResult
    func wait(socket: Int32, timeout: Duration) -> Bool {
        var fds = [
            pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0),
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
        ]
        let milliseconds = max(0, Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000))
        let count = poll(&fds, socket >= 0 ? 2 : 1, milliseconds)
        if count > 0 && fds[0].revents != 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            while read(readEnd, &buffer, buffer.count) > 0 {}
        }
        return count > 0 && socket >= 0 && fds[1].revents != 0
    }
}
