public import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A loopback TCP proxy for fault tests: forwards every connection to a
/// target port until told to cut — then it closes every live connection and
/// refuses new ones for a while, as a broken network would.
public final class TCPProxy: @unchecked Sendable {
    public let port: Int
    private let targetPort: Int
    private let listener: Int32
    private let lock = NSLock()
    private var connections: Set<Int32> = []
    private var refusingUntil: Date?
    private var stopped = false
    /// Connections forwarded so far (to tell that clients came back after a cut).
    public private(set) var accepted = 0

    public init(targetPort: Int) throws {
        self.targetPort = targetPort
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = Self.loopback(port: 0)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(fd, 128) == 0 else { throw ProxyError(message: "cannot listen: errno \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    struct ProxyError: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    public static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Closes every forwarded connection now and refuses new ones for `duration`.
    public func cut(for duration: TimeInterval) {
        lock.withLock {
            refusingUntil = Date().addingTimeInterval(duration)
            for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
        }
    }

    public func stop() {
        lock.withLock {
            stopped = true
            for connection in connections { shutdown(connection, Int32(SHUT_RDWR)) }
        }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if lock.withLock({ stopped }) { return }
                continue
            }
            let refusing = lock.withLock { stopped || (refusingUntil.map { $0 > Date() } ?? false) }
            if refusing {
                close(client)
                continue
            }
            let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var target = Self.loopback(port: targetPort)
            let connected = withUnsafePointer(to: &target) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
            guard connected == 0 else {
                close(client)
                close(upstream)
                continue
            }
            let pair = Pair(client: client, upstream: upstream)
            lock.withLock {
                connections.insert(client)
                connections.insert(upstream)
                accepted += 1
            }
            Thread.detachNewThread { [self] in pump(from: client, to: upstream, pair: pair) }
            Thread.detachNewThread { [self] in pump(from: upstream, to: client, pair: pair) }
        }
    }

    /// The two sockets of one forwarded connection; closed by the second pump to finish.
    final class Pair: @unchecked Sendable {
        let client: Int32
        let upstream: Int32
        var running = 2
        init(client: Int32, upstream: Int32) {
            self.client = client
            self.upstream = upstream
        }
    }

    /// Copies bytes one way until either side closes; then shuts both down.
    private func pump(from source: Int32, to destination: Int32, pair: Pair) {
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        loop: while true {
            let count = buffer.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count <= 0 { break }
            var offset = 0
            while offset < count {
                let written = buffer.withUnsafeBytes { send(destination, $0.baseAddress! + offset, count - offset, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break loop }
                offset += written
            }
        }
        // Shut down both (which wakes the other pump); the last pump closes, so no descriptor is reused under it.
        shutdown(source, Int32(SHUT_RDWR))
        shutdown(destination, Int32(SHUT_RDWR))
        lock.withLock {
            pair.running -= 1
            if pair.running == 0 {
                connections.remove(pair.client)
                connections.remove(pair.upstream)
                close(pair.client)
                close(pair.upstream)
            }
        }
    }
}

/// A loopback port nothing listens on right now.
public func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = TCPProxy.loopback(port: 0)
    _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Whether something accepts connections on this loopback port.
public func loopbackAccepts(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var target = TCPProxy.loopback(port: port)
    return withUnsafePointer(to: &target) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
