import AMQP
import Foundation
import Logging
import Messaging
import Models
import ServiceLifecycle
import Synchronization

/// Group commit: signatures from concurrent requests share envelopes. A signature waits at most
/// `delay` for others (or until `size` are pending), then its envelope is published with a confirm and
/// every request in it resumes together. One confirm covers hundreds of signatures.
public final class EnvelopeBatcher: Service, Sendable {
    private typealias Waiter = CheckedContinuation<Void, any Error>

    private let publisher: AMQPPublisher
    private let names: TopologyNames
    private let size: Int
    private let delay: Duration
    private let pending = Mutex<[(Signature, Waiter)]>([])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(publisher: AMQPPublisher, names: TopologyNames, size: Int, delay: Duration) {
        self.publisher = publisher
        self.names = names
        self.size = size
        self.delay = delay
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Returns once the broker confirmed the envelope holding `signature`.
    public func submit(_ signature: Signature) async throws {
        try await withCheckedThrowingContinuation { (waiter: Waiter) in
            let (first, full): (Bool, [(Signature, Waiter)]?) = pending.withLock { pending in
                pending.append((signature, waiter))
                if pending.count >= size {
                    defer { pending.removeAll(keepingCapacity: true) }
                    return (false, pending)
                }
                return (pending.count == 1, nil)
            }
            if let full { publish(full) } else if first { wake.yield() }
        }
    }

    public func run() async throws {
        await withGracefulShutdownHandler {
            for await _ in wakeups {
                try? await Task.sleep(for: delay)
                flush()
            }
        } onGracefulShutdown: { [wake] in
            wake.finish()
        }
        flush()
    }

    private func flush() {
        let taken = pending.withLock { pending in
            defer { pending.removeAll(keepingCapacity: true) }
            return pending
        }
        var start = 0
        while start < taken.count {
            let end = min(start + size, taken.count)
            publish(Array(taken[start..<end]))
            start = end
        }
    }

    private func publish(_ group: [(Signature, Waiter)]) {
        let envelope = Envelope(signatures: group.map(\.0))
        let message = envelope.message(names, from: .intake)
        let waiters = group.map(\.1)
        publisher.publish([message]) { result in
            for waiter in waiters { waiter.resume(with: result.mapError { $0 as any Error }) }
        }
    }
}
