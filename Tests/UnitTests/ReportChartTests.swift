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
        }
    }
}
