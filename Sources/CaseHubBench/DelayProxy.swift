import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A loopback TCP proxy that holds every byte for `delay` in each direction,
/// as a hop to another host would (there is no tc netem on the machines that
/// run the bench). Each direction has a reader that stamps what it reads and a
/// writer that sends it once due, so a byte waits `delay` however busy the
/// connection is.
///
/// `classify` sees the first bytes a client sends and may exempt its
/// connection from the delay (the bench's own Kafka clients go through the
/// proxy the broker advertises, but only the hubs should see the delay).
final class DelayProxy: @unchecked Sendable {
    let port: Int
    let delay: Duration
    private let targetPort: Int
    private let classify: (@Sendable ([UInt8]) -> Bool)?
    private let listener: Int32
    private let lock = NSLock()
    private var open: Set<Int32> = []
    private var stopped = false
    private var counts = (delayed: 0, exempt: 0)

    /// - Parameter classify: given the client's first read, whether the connection is delayed.
    init(targetPort: Int, delay: Duration, classify: (@Sendable ([UInt8]) -> Bool)? = nil) throws {
        self.targetPort = targetPort
        self.delay = delay
        self.classify = classify
        let fd = socket(AF_INET, streamSocketType, 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = loopbackAddress(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 256) == 0 else {
            close(fd)
            throw BenchError("delay proxy: cannot listen on loopback (errno \(errno))")
        }
        listener = fd
        port = boundPort(of: fd)
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    /// Connections forwarded so far, with and without the delay.
    var connectionCounts: (delayed: Int, exempt: Int) { lock.withLock { counts } }

    func stop() {
        lock.withLock {
            stopped = true
            for fd in open { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = acceptClosingOnExec(listener)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            let upstream = socket(AF_INET, streamSocketType, 0)
            var target = loopbackAddress(port: targetPort)
            let connected = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            // Without it, Nagle's algorithm would add its own wait to ours.
            for fd in [client, upstream] {
                var yes: Int32 = 1
                setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &yes, socklen_t(MemoryLayout<Int32>.size))
            }
            lock.withLock {
                open.insert(client)
                open.insert(upstream)
            }
            let connection = Connection(client: client, upstream: upstream, delay: classify == nil ? delay : nil)
            let up = DelayLine()
            let down = DelayLine()
            Thread.detachNewThread { [self] in readLoop(from: client, into: up, connection: connection, decides: true) }
            Thread.detachNewThread { [self] in writeLoop(up, to: upstream, connection: connection) }
            Thread.detachNewThread { [self] in readLoop(from: upstream, into: down, connection: connection, decides: false) }
            Thread.detachNewThread { [self] in writeLoop(down, to: client, connection: connection) }
        }
    }

    /// One forwarded connection: its sockets, its delay once known, and how
    /// many of its four threads still run (the last closes the sockets, so no
    /// descriptor is reused under another).
    private final class Connection: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        let decided = NSCondition()
        var delay: Duration?
        var running = 4
        init(client: Int32, upstream: Int32, delay: Duration?) {
            self.client = client
            self.upstream = upstream
            self.delay = delay
        }

        /// Both protocols proxied here speak first from the client, so the
        /// server's side only waits if the server speaks before that.
        func awaitDelay() -> Duration {
            decided.lock()
            defer { decided.unlock() }
            while delay == nil { decided.wait() }
            return delay!
        }

        func decide(_ value: Duration) {
            decided.lock()
            if delay == nil { delay = value }
            decided.broadcast()
            decided.unlock()
        }
    }

    private func readLoop(from source: Int32, into line: DelayLine, connection: Connection, decides: Bool) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        var first = true
        while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            let arrived = ContinuousClock.now
            let bytes = Array(buffer[0..<count])
            if first && decides {
                let delayed = classify.map { $0(bytes) } ?? true
                lock.withLock { if delayed { counts.delayed += 1 } else { counts.exempt += 1 } }
                connection.decide(delayed ? delay : .zero)
            }
            first = false
            line.push(bytes, due: arrived + connection.awaitDelay())
        }
        if decides { connection.decide(delay) }  // a client that never spoke: unblock the other side
        line.finish()
        finished(connection)
    }

    private func writeLoop(_ line: DelayLine, to destination: Int32, connection: Connection) {
        writing: while let bytes = line.popDue() {
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { send(destination, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break writing }
                offset += written
            }
        }
        // Either side gone: shut both, which wakes the readers; drop what is queued.
        shutdown(connection.client, Int32(SHUT_RDWR))
        shutdown(connection.upstream, Int32(SHUT_RDWR))
        line.finish()
        finished(connection)
    }

    private func finished(_ connection: Connection) {
        lock.withLock {
            connection.running -= 1
            guard connection.running == 0 else { return }
            open.remove(connection.client)
            open.remove(connection.upstream)
            close(connection.client)
            close(connection.upstream)
        }
    }
}

/// Bytes in flight one way, each chunk with the instant it may be sent. The
/// reader stops reading while too much waits, as a full socket buffer would.
private final class DelayLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var chunks: [(bytes: [UInt8], due: ContinuousClock.Instant)] = []
    private var head = 0
    private var queuedBytes = 0
    private var finished = false
    private static let limit = 8 << 20

    func push(_ bytes: [UInt8], due: ContinuousClock.Instant) {
        condition.lock()
        defer { condition.unlock() }
        while queuedBytes > Self.limit && !finished { condition.wait() }
        chunks.append((bytes, due))
        queuedBytes += bytes.count
        condition.broadcast()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }

    /// Waits for the next chunk and for its due instant; returns it with every
    /// later chunk already due (one send for them all), or nil once finished
    /// and drained.
    func popDue() -> [UInt8]? {
        condition.lock()
        while head == chunks.count && !finished { condition.wait() }
        guard head < chunks.count else {
            condition.unlock()
            return nil
        }
        let due = chunks[head].due
        condition.unlock()
        let wait = due - ContinuousClock.now
        if wait > .zero { sleepPrecisely(wait) }

        condition.lock()
        defer { condition.unlock() }
        var bytes = chunks[head].bytes
        head += 1
        let now = ContinuousClock.now
        while head < chunks.count && chunks[head].due <= now {
            bytes += chunks[head].bytes
            head += 1
        }
        queuedBytes -= bytes.count
        if head > 1024 {
            chunks.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return bytes
    }
}

/// nanosleep, not Thread.sleep: the delays are around a millisecond.
private func sleepPrecisely(_ duration: Duration) {
    let (seconds, attoseconds) = duration.components
    var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

// Close-on-exec: the hubs, perf and tansu the bench starts must not inherit its
// sockets (tansu kept the proxies' listeners open). Atomic for socket() on
// Linux; Glibc's module has no accept4, so accepted sockets get it just after.
#if os(Linux)
private let streamSocketType = Int32(SOCK_STREAM.rawValue | SOCK_CLOEXEC.rawValue)
#else
private let streamSocketType = SOCK_STREAM
#endif

private func acceptClosingOnExec(_ listener: Int32) -> Int32 {
    let fd = accept(listener, nil, nil)
    if fd >= 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return fd
}

func loopbackAddress(port: Int) -> sockaddr_in {
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = UInt16(port).bigEndian
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return address
}

private func boundPort(of fd: Int32) -> Int {
    var address = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// A loopback port nothing listens on right now (for a child process to listen on).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, streamSocketType, 0)
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    _ = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return boundPort(of: fd)
}

func loopbackAccepts(port: Int) -> Bool {
    let fd = socket(AF_INET, streamSocketType, 0)
    defer { close(fd) }
    var target = loopbackAddress(port: port)
    return withUnsafePointer(to: &target) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}

/// The client id in a Kafka request's header (size, api key, api version,
/// correlation id, then a nullable int16-length string), if the bytes hold one.
func kafkaClientID(inFirstRequest bytes: [UInt8]) -> String? {
    guard bytes.count >= 14 else { return nil }
    let length = Int(Int16(bitPattern: UInt16(bytes[12]) << 8 | UInt16(bytes[13])))
    guard length >= 0, bytes.count >= 14 + length else { return nil }
    return String(decoding: bytes[14..<(14 + length)], as: UTF8.self)
}
