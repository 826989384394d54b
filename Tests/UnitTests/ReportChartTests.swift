import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Store
import Testing

@testable import Ctl

/// The report's chart: a self-contained SVG whose axes fit the figures, drawn from any report, empty or not.
@Suite("The call's report chart")
struct ReportChartTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)

    static func report(slots: Int) -> CallReport {
        let counts: [CallReport.Slot] = (0..<slots).map { i in
            let at = start.addingTimeInterval(Double(i))
            return CallReport.Slot(at: at, accepted: Int64(i) * 3, counted: Int64(i) * 2)
        }
        let lags: [CallReport.Lag] = (0..<(slots / 60)).map { i in
            let at = start.addingTimeInterval(Double(i) * 60)
            return CallReport.Lag(at: at, p50: 20, p95: 80, p99: 150, count: 10)
        }
        let end = start.addingTimeInterval(Double(max(slots, 1)))
        let refusals: [String: Int64] = ["duplicate": 3, "rate_limited": 2]
        let channels: [String: Int64] = ["web": 7, "kiosk": 3]
        return CallReport(
            petition: "call", title: "Peace <now> & \"here\"", from: start, to: end, resolution: 1, slots: counts, lag: lags,
            accepted: 10, counted: 9, refusals: refusals, byChannel: channels, bySource: [:], milestones: [(threshold: 100, reachedAt: start.addingTimeInterval(30))])
    }

    @Test func axesFitTheFigures() {
        #expect([0, 1, 7, 10, 11, 180, 999, 1001].map(ReportChart.niceCeiling) == [1, 1, 10, 10, 20, 200, 1000, 2000])
        #expect(ReportChart.short(2_500) == "2.5k" && ReportChart.short(3_000_000) == "3M" && ReportChart.short(12) == "12")
    }

    @Test func theChartIsWellFormedAndSaysWhatItShows() throws {
        for slots in [0, 1, 600] {
            let svg = ReportChart(report: Self.report(slots: slots)).svg
            #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\""))
            #expect(svg.contains("Peace &lt;now&gt; &amp; &quot;here&quot;") && !svg.contains("<now>"))
            #expect(svg.components(separatedBy: "<polyline").count - 1 == 5)
            #expect(svg.contains("duplicates 3 · refused 2") && svg.contains("kiosk 3") || svg.contains("<title>kiosk: 3</title>"))
            // Every coordinate a number (a division by an empty range would write nan or inf).
            #expect(!["\"nan", "nan\"", "nan,", ",nan", "\"inf", "inf\"", "inf,", ",inf", "-inf"].contains { svg.contains($0) })
            let parser = XMLParser(data: Data(svg.utf8))
            #expect(parser.parse(), "well-formed XML: \(String(describing: parser.parserError))")
            // Every point inside the plot (a slot or a lag minute before `from` once fell off its left edge).
            let xs = svg.components(separatedBy: "cx=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
            #expect(xs.allSatisfy { $0 >= 90 && $0 <= 1160 }, "\(xs.filter { $0 < 90 || $0 > 1160 })")
        }
    }

    @Test("a burst inside one second, from a report starting mid-second: a slot per second, zeros where none came, and the lag's minute inside the plot")
    func aShortBurstIsDrawnInsideThePlot() {
        let from = Self.start.addingTimeInterval(0.4)
        let report = CallReport(
            petition: "call", title: "Burst", from: from, to: from.addingTimeInterval(8), resolution: 1,
            slots: [CallReport.Slot(at: Self.start, accepted: 1283, counted: 1283)],
            lag: [CallReport.Lag(at: Self.start.addingTimeInterval(-20), p50: 39, p95: 53, p99: 58, count: 1283)],
            accepted: 1283, counted: 1283, refusals: [:], byChannel: ["web": 1283], bySource: [:], milestones: [])
        let chart = ReportChart(report: report)
        let (start, end) = chart.domain
        #expect(start == Self.start.addingTimeInterval(-20) && end >= from.addingTimeInterval(8))
        let slots = chart.filledSlots(from: start, to: end)
        #expect(slots.map(\.accepted).reduce(0, +) == 1283 && slots.count >= 29 && slots.filter { $0.accepted > 0 }.count == 1)
        let xs = chart.svg.components(separatedBy: "cx=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        #expect(!xs.isEmpty && xs.allSatisfy { $0 >= 90 && $0 <= 1160 })
    }
}
