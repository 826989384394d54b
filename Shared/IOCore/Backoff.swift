/// Exponential back-off with jitter: `base × 2^attempts`, at most `maximum`, times a random 0.5–1 (so that
/// many clients that failed together do not come back together). The one back-off of the project: broker
/// and database reconnects, webhook and mail retries, a batch tried again.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var maximum: Duration

    /// The maximum defaults to 5 minutes: retries of an outbound call (a webhook, a mail).
    public init(base: Duration, maximum: Duration = .seconds(300)) {
        self.base = base
        self.maximum = maximum
    }

    /// The longest delay after `attempts` failures, before the jitter.
    public func ceiling(after attempts: Int) -> Duration {
        min(base * (1 << min(max(attempts, 0), 20)), maximum)
    }

    /// The delay after `attempts` failures (0 for the first retry).
    public func delay(after attempts: Int) -> Duration {
        ceiling(after: attempts) * Double.random(in: 0.5...1.0)
    }

    /// Reconnecting to the broker or the database: 100 ms doubling to 10 s.
    public static let reconnect = Backoff(base: .milliseconds(100), maximum: .seconds(10))
}
