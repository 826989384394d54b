import ServiceSupport
import Testing

@Suite("Latency histogram")
struct LatencyHistogramTests {
    @Test func exactForSmallValues() {
        var histogram = LatencyHistogram()
        for value in 1...100 { histogram.record(microseconds: value) }
        #expect(histogram.percentile(0.5) == 50)
        #expect(histogram.percentile(0.99) == 99)
        #expect(histogram.percentile(1) == 100)
        #expect(histogram.count == 100)
    }

    @Test func percentilesWithinTwoPercentOfSorted() {
        var random = SystemRandomNumberGenerator()
        // Log-normal-ish latencies from 50 µs to 20 s.
        let values = (0..<50_000).map { _ in Int(50 * pow2(Double.random(in: 0...18.6, using: &random))) }
        var histogram = LatencyHistogram()
        values.forEach { histogram.record(microseconds: $0) }
        let sorted = values.sorted()
        for q in [0.5, 0.9, 0.99, 0.999] {
            let exact = Double(sorted[Int((q * Double(sorted.count)).rounded(.up)) - 1])
            let estimate = Double(histogram.percentile(q))
            #expect(abs(estimate - exact) / exact < 0.02, "q=\(q) exact=\(exact) estimate=\(estimate)")
        }
        #expect(histogram.percentile(1) == sorted.last)
    }

    @Test func bucketsCoverEveryValueOnce() {
        for value in [0, 1, 127, 128, 129, 255, 256, 1000, 65_535, 1 << 30, Int.max >> 20] {
            let (low, width) = LatencyHistogram.bucketRange(of: value)
            #expect(low <= value && value < low + width, "\(value)")
        }
    }

    @Test func mergesAndRecordsDurations() {
        var a = LatencyHistogram(), b = LatencyHistogram()
        a.record(.milliseconds(3))
        b.record(.microseconds(1500))
        a.merge(b)
        #expect(a.count == 2)
        #expect(a.maximumMicroseconds == 3000)
        #expect(abs(a.percentile(0.5) - 1500) < 30)
    }

    private func pow2(_ x: Double) -> Double { (0..<Int(x)).reduce(1.0) { r, _ in r * 2 } * (1 + (x - x.rounded(.down))) }
}
