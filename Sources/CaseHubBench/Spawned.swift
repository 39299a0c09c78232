import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A child process started with posix_spawn and every signal unblocked and
/// at its default action. Foundation's Process passes on the signal mask of
/// the thread that starts it, and the bench's threads block SIGINT and
/// SIGTERM: perf then never heard its SIGINT (it writes its data on it) and
/// tansu never heard its SIGTERM.
final class SpawnedProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var exitStatus: Int32?

    /// Standard output and error go to `output` (a file path), or nowhere.
    init(_ executable: String, _ arguments: [String], output: String? = nil) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t()
        sigemptyset(&none)
        posix_spawnattr_setsigmask(&attributes, &none)
        var all = sigset_t()
        sigfillset(&all)
        posix_spawnattr_setsigdefault(&attributes, &all)
        // Its own process group, like Process: a Ctrl-C reaches the bench, which kills it.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        var files = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&files)
        defer { posix_spawn_file_actions_destroy(&files) }
        posix_spawn_file_actions_addopen(&files, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&files, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&files, 1, 2)

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var child = pid_t()
        let status = posix_spawn(&child, executable, &files, &attributes, argv, environ)
        guard status == 0 else { throw BenchError("cannot start \(executable): \(String(cString: strerror(status)))") }
        pid = child
        ChildProcesses.shared.started(child)
    }

    var isRunning: Bool { reap(blocking: false) == nil }

    func signal(_ signalNumber: Int32) { if isRunning { kill(pid, signalNumber) } }

    /// Waits up to `timeout` for it to end; its exit status if it did.
    @discardableResult
    func wait(timeout: TimeInterval) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let status = reap(blocking: false) { return status }
            usleep(20_000)
        }
        return reap(blocking: false)
    }

    /// `signalNumber`, then SIGKILL if it is still there after `grace`.
    func stop(with signalNumber: Int32 = SIGTERM, grace: TimeInterval = 10) {
        signal(signalNumber)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            _ = reap(blocking: true)
        }
        ChildProcesses.shared.ended(pid)
    }

    private func reap(blocking: Bool) -> Int32? {
        lock.withLock {
            if let exitStatus { return exitStatus }
            var status: Int32 = 0
            if waitpid(pid, &status, blocking ? 0 : WNOHANG) == pid { exitStatus = status }
            return exitStatus
        }
    }
}
