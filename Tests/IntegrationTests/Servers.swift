import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Restarts the throwaway servers `scripts/test` started (paths and node from its environment), with the
/// same shell functions the scripts use. Fault tests only: every other test sees the outage too, so the
/// suite runs without parallelism.
enum Servers {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func restartRabbitMQ(downFor pause: Duration = .zero) async throws {
        try await stopRabbitMQ()
        try await Task.sleep(for: pause)
        try await startRabbitMQ()
    }

    static func stopRabbitMQ() async throws {
        let (dir, node, _) = try rabbit()
        try await shell(". scripts/lib/servers.sh; stop_rabbitmq '\(dir)' '\(node)'")
    }

    static func startRabbitMQ() async throws {
        let (dir, node, port) = try rabbit()
        try await shell(". scripts/lib/servers.sh; start_rabbitmq '\(dir)' '\(node)' \(port) \(port + 10000) \(port + 20000) rabbitmq_management")
    }

    private static func rabbit() throws -> (String, String, Int) {
        let environment = ProcessInfo.processInfo.environment
        guard let dir = environment["UNDERSIGNED_TEST_RABBITMQ_DIR"], let node = environment["UNDERSIGNED_TEST_RABBITMQ_NODE"],
              let port = environment["UNDERSIGNED_TEST_AMQP_PORT"].flatMap(Int.init) else {
            throw Failure.notUnderScriptsTest
        }
        return (dir, node, port)
    }

    static func restartPostgreSQL() async throws {
        guard let dir = ProcessInfo.processInfo.environment["UNDERSIGNED_TEST_POSTGRES_DIR"] else { throw Failure.notUnderScriptsTest }
        try await shell("runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D '\(dir)/data' -m immediate -w restart >/dev/null")
    }

    static func stopPostgreSQL() async throws {
        guard let dir = ProcessInfo.processInfo.environment["UNDERSIGNED_TEST_POSTGRES_DIR"] else { throw Failure.notUnderScriptsTest }
        try await shell("runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D '\(dir)/data' -m immediate -w stop >/dev/null")
    }

    static func startPostgreSQL() async throws {
        guard let dir = ProcessInfo.processInfo.environment["UNDERSIGNED_TEST_POSTGRES_DIR"] else { throw Failure.notUnderScriptsTest }
        try await shell("runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D '\(dir)/data' -l '\(dir)/log' -w start >/dev/null")
    }

    /// Debian's Chromium, headless, stopping the page after 6 s (the live stream never ends by itself).
    static func chromium(_ arguments: String) async throws {
        try await shell("timeout 60 chromium --headless --no-sandbox --disable-gpu --timeout=6000 \(arguments) 2>/dev/null")
    }

    enum Failure: Error, CustomStringConvertible {
        case notUnderScriptsTest
        case command(String, Int32)

        var description: String {
            switch self {
            case .notUnderScriptsTest: "fault tests restart the servers that scripts/test starts: run them with scripts/test"
            case .command(let command, let status): "`\(command)` exited with \(status)"
            }
        }
    }

    /// Runs `bash -c command` in the repository and waits for it. (posix_spawn and waitpid rather than
    /// Foundation's Process, which did not always notice its child's exit here.)
    private static func shell(_ command: String) async throws {
        var pid: pid_t = 0
        let arguments = ["/bin/bash", "-c", "cd '\(repository.path)' && \(command)"]
        let cArguments = arguments.map { strdup($0) } + [nil]
        defer { cArguments.forEach { free($0) } }
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, cArguments, environ)
        guard spawned == 0 else { throw Failure.command(command, spawned) }
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        let exitCode = (status >> 8) & 0xFF
        guard status & 0x7F == 0, exitCode == 0 else { throw Failure.command(command, exitCode) }
    }
}
