/// A latency histogram with fixed memory and bounded relative error (HDR-style log-linear buckets):
/// exact below 128 µs, then 64 buckets per power of two (under 1.6% error), up to days. Adding is O(1),
/// so a load generator can record every request of a long run; percentiles walk ~2,400 buckets.
public struct LatencyHistogram: Sendable, Equatable {
    private static let linear = 128
    private static let perOctave = 64
    private var counts = [Int](repeating: 0, count: linear + 40 * perOctave)
    public private(set) var count = 0
    public private(set) var maximumMicroseconds = 0

    public init() {}

    public mutating func record(microseconds value: Int) {
        let value = max(0, value)
        counts[Self.index(value)] += 1
        count += 1
        maximumMicroseconds = max(maximumMicroseconds, value)
    }

    public mutating func record(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        record(microseconds: Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000))
    }

    public mutating func merge(_ other: LatencyHistogram) {
        for index in counts.indices { counts[index] += other.counts[index] }
        count += other.count
        maximumMicroseconds = max(maximumMicroseconds, other.maximumMicroseconds)
    }

    /// The value at quantile `q` (0...1) in microseconds: the middle of its bucket; 0 when empty.
    public func percentile(_ q: Double) -> Int {
        guard count > 0 else { return 0 }
        let rank = max(1, Int((q * Double(count)).rounded(.up)))
        if rank >= count { return maximumMicroseconds }
        var seen = 0
        for (index, bucketCount) in counts.enumerated() where bucketCount > 0 {
            seen += bucketCount
            if seen >= rank {
                let (low, width) = Self.bucket(index)
                return min(low + width / 2, maximumMicroseconds)
            }
        }
        return maximumMicroseconds
    }

    static func index(_ value: Int) -> Int {
        guard value >= linear else { return value }
        let msb = Int.bitWidth - 1 - value.leadingZeroBitCount
        let shift = msb - 6
        let top = value >> shift  // 64...127
        return min(linear + (shift - 1) * perOctave + (top - perOctave), linear + 40 * perOctave - 1)
    }

    /// The lowest value of bucket `index` and its width.
    static func bucket(_ index: Int) -> (low: Int, width: Int) {
        guard index >= linear else { return (index, 1) }
        let shift = (index - linear) / perOctave + 1
        let top = (index - linear) % perOctave + perOctave
        return (top << shift, 1 << shift)
    }
}

extension LatencyHistogram {
    /// The bucket holding `value` (for tests and reports).
    public static func bucketRange(of value: Int) -> (low: Int, width: Int) { bucket(index(value)) }
}
