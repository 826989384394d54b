import Foundation
import Models
import Store

/// The evening on one picture (SVG): signatures accepted and counted over time with the milestones crossed,
/// the accept-to-count lag (p50, p95, p99) per minute, and the signatures by channel with the totals. Self-
/// contained (no fonts, scripts or links to fetch), so it opens anywhere and converts to PNG as it is.
struct ReportChart {
    let report: CallReport
    static let width = 1200.0, height = 780.0
    private static let left = 90.0, right = 1160.0
    static let colours = ["accepted": "#0b5cad", "counted": "#d9480f", "p50": "#2b8a3e", "p95": "#e67700", "p99": "#c92a2a",
                          "web": "#0b5cad", "kiosk": "#5f3dc4", "partner": "#2b8a3e", "paper": "#868e96"]

    var svg: String {
        var out = """
            <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(Self.width))" height="\(Int(Self.height))" viewBox="0 0 \(Int(Self.width)) \(Int(Self.height))" \
            font-family="DejaVu Sans, Arial, sans-serif" font-size="13" role="img" aria-labelledby="title">
            <title id="title">\(escape(report.title)): \(report.accepted) signatures accepted, \(report.counted) counted</title>
            <rect width="100%" height="100%" fill="#ffffff"/>
            <text x="\(Self.left)" y="32" font-size="20" font-weight="bold">\(escape(report.title))</text>
            <text x="\(Self.left)" y="52" fill="#495057">\(Timestamp.format(report.from)) to \(Timestamp.format(report.to)) (UTC) · \
            per \(report.resolution == 1 ? "second" : "minute")</text>

            """
        let (start, end) = domain
        let span = max(1, end.timeIntervalSince(start))
        func x(_ date: Date) -> Double { Self.left + (Self.right - Self.left) * date.timeIntervalSince(start) / span }
        // Accepted and counted, every slot of the span (one without signatures is a zero, not a gap).
        let slots = filledSlots(from: start, to: end)
        let rates = slots.flatMap { [Double($0.accepted), Double($0.counted)] }
        out += panel(top: 80, bottom: 380, from: start, to: end, label: "signatures per \(report.resolution == 1 ? "second" : "minute")",
                     maximum: rates.max() ?? 0) { y in
            var lines = ""
            for (name, value) in [("accepted", { (slot: CallReport.Slot) in slot.accepted }), ("counted", { $0.counted })] {
                lines += series(name, slots.map { (x($0.at), y(Double(value($0)))) })
            }
            for milestone in report.milestones {
                let at = number(x(milestone.reachedAt))
                lines += "<line x1=\"\(at)\" y1=\"80\" x2=\"\(at)\" y2=\"380\" stroke=\"#fab005\" stroke-dasharray=\"5 4\"/>"
                lines += "<text x=\"\(at)\" y=\"94\" fill=\"#8f5e00\" text-anchor=\"middle\">\(milestone.threshold)</text>\n"
            }
            return lines
        }
        out += legend(["accepted", "counted"], y: 420)
        // Lag, per minute (drawn at the middle of its minute).
        let lags = report.lag.flatMap { [$0.p50, $0.p95, $0.p99] }
        out += panel(top: 456, bottom: 606, from: start, to: end, label: "accept-to-count lag, ms", maximum: lags.max() ?? 0) { y in
            [("p50", \CallReport.Lag.p50), ("p95", \.p95), ("p99", \.p99)].map { name, value in
                series(name, report.lag.map { (x(min(end, $0.at.addingTimeInterval(30))), y($0[keyPath: value])) })
            }.joined()
        }
        out += legend(["p50", "p95", "p99"], y: 646)
        // Channels and totals.
        let total = max(1, report.byChannel.values.reduce(0, +))
        var offset = Self.left
        out += "<text x=\"\(Self.left)\" y=\"668\" font-weight=\"bold\">by channel</text>\n"
        for channel in Counts.channelOrder where (report.byChannel[channel] ?? 0) > 0 {
            let n = report.byChannel[channel] ?? 0, width = (Self.right - Self.left) * Double(n) / Double(total)
            out += "<rect x=\"\(number(offset))\" y=\"676\" width=\"\(number(width))\" height=\"26\" fill=\"\(Self.colours[channel]!)\"><title>\(channel): \(n)</title></rect>"
            if width > 90 { out += "<text x=\"\(number(offset + 6))\" y=\"694\" fill=\"#ffffff\">\(channel) \(n)</text>" }
            out += "\n"
            offset += width
        }
        let duplicates = report.refusals["duplicate"] ?? 0, refused = report.refusals.values.reduce(0, +) - duplicates
        out += "<text x=\"\(Self.left)\" y=\"736\" font-size=\"15\">accepted \(report.accepted) · counted \(report.counted) · "
            + "duplicates \(duplicates) · refused \(refused) · milestones \(report.milestones.map { String($0.threshold) }.joined(separator: ", "))</text>\n"
        return out + "</svg>\n"
    }

    /// The time the panels span: the report's, widened to whole slots and to the lag's minutes, so that every
    /// point falls inside the plot.
    var domain: (start: Date, end: Date) {
        let step = Double(max(1, report.resolution))
        let from = (report.from.timeIntervalSince1970 / step).rounded(.down) * step
        let to = (report.to.timeIntervalSince1970 / step).rounded(.up) * step
        let starts = [from] + [report.slots.first?.at, report.lag.first?.at].compactMap { $0?.timeIntervalSince1970 }
        let ends = [to, (report.slots.last?.at.timeIntervalSince1970 ?? from) + step, (report.lag.last?.at.timeIntervalSince1970 ?? from) + 60]
        let start = starts.min()!, end = max(ends.max()!, start + step)
        return (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: end))
    }

    /// One slot per `resolution` from `start` to `end` (at most 20,000: past that, the slots there are).
    func filledSlots(from start: Date, to end: Date) -> [CallReport.Slot] {
        let step = Double(max(1, report.resolution)), count = Int((end.timeIntervalSince(start) / step).rounded(.up))
        guard count <= 20_000 else { return report.slots }
        let known = Dictionary(report.slots.map { (Int($0.at.timeIntervalSince1970.rounded()), $0) }, uniquingKeysWith: { first, _ in first })
        return (0..<count).map { index in
            let at = start.addingTimeInterval(Double(index) * step)
            return known[Int(at.timeIntervalSince1970.rounded())] ?? CallReport.Slot(at: at, accepted: 0, counted: 0)
        }
    }

    /// A line through `points`, with a dot on each when there are few (a single point is no line).
    private func series(_ name: String, _ points: [(Double, Double)]) -> String {
        let colour = Self.colours[name]!
        var out = "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"1.5\" points=\"\(points.map { "\(number($0.0)),\(number($0.1))" }.joined(separator: " "))\"><title>\(name)</title></polyline>"
        if points.count <= 60 {
            out += points.map { "<circle cx=\"\(number($0.0))\" cy=\"\(number($0.1))\" r=\"3\" fill=\"\(colour)\"/>" }.joined()
        }
        return out + "\n"
    }

    /// Axes, grid and labels for a panel whose values go from 0 to `maximum` over `from`...`to`; `draw` gets
    /// the value-to-y map.
    private func panel(
        top: Double, bottom: Double, from: Date, to: Date, label: String, maximum: Double, draw: ((Double) -> Double) -> String
    ) -> String {
        let ceiling = Self.niceCeiling(maximum)
        let y = { (value: Double) in bottom - (bottom - top) * value / ceiling }
        var out = "<text x=\"\(Self.left)\" y=\"\(number(top - 6))\" fill=\"#495057\">\(label)</text>\n"
        for step in 0...4 {
            let value = ceiling * Double(step) / 4, at = number(y(value))
            out += "<line x1=\"\(Self.left)\" y1=\"\(at)\" x2=\"\(Self.right)\" y2=\"\(at)\" stroke=\"#dee2e6\"/>"
            out += "<text x=\"\(Self.left - 8)\" y=\"\(at)\" text-anchor=\"end\" dominant-baseline=\"middle\" fill=\"#495057\">\(Self.short(value))</text>\n"
        }
        for step in 0...4 {
            let date = from.addingTimeInterval(to.timeIntervalSince(from) * Double(step) / 4)
            let at = Self.left + (Self.right - Self.left) * Double(step) / 4
            let time = Timestamp.format(date)
            out += "<text x=\"\(number(at))\" y=\"\(number(bottom + 16))\" text-anchor=\"middle\" fill=\"#495057\">\(time.dropFirst(11).prefix(8))</text>\n"
        }
        return out + draw(y)
    }

    private func legend(_ names: [String], y: Double) -> String {
        names.enumerated().map { index, name in
            let x = Self.left + Double(index) * 130
            return "<rect x=\"\(number(x))\" y=\"\(number(y - 10))\" width=\"14\" height=\"4\" fill=\"\(Self.colours[name]!)\"/>"
                + "<text x=\"\(number(x + 20))\" y=\"\(number(y - 4))\">\(name)</text>"
        }.joined() + "\n"
    }

    /// 1, 2 or 5 times a power of ten, at least `value` (and at least 1).
    static func niceCeiling(_ value: Double) -> Double {
        guard value > 1 else { return 1 }
        let power = pow(10, floor(log10(value)))
        return [1.0, 2, 5, 10].map { $0 * power }.first { $0 >= value } ?? 10 * power
    }

    static func short(_ value: Double) -> String {
        value >= 1_000_000 ? "\(number(value / 1_000_000))M" : value >= 1_000 ? "\(number(value / 1_000))k" : number(value)
    }

    private func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// A coordinate or value with at most one decimal.
func number(_ value: Double) -> String {
    let rounded = (value * 10).rounded() / 10
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
}

extension Counts {
    /// The channels in the order reports and screens show them.
    static let channelOrder = PetitionCount.channels
}
